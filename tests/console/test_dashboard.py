"""Dashboards: figures in the user's scope only; a province's own view; charts fed by json_script."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from collectors.models import Collector
from console.models import WeeklyFigures
from console.services import weekly_figures_refresh
from console.tasks import refresh_weekly_figures
from detection.models import Alert, DetectionRule, RuleKind
from incidents.models import Incident
from incidents.services.intake import incident_create
from organisations.models import Organisation
from soc.beat import beat_schedule
from tests.conftest import Cast, EnrolledCollector
from tests.console.conftest import Indexer

URL = "/console/dashboard/"


def page(user: object, **params: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    response = client.get(URL, params)
    return response.status_code, response.content.decode()


def chart_data(body: str) -> dict[str, Any]:
    match = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', body, re.S)
    assert match, "no chart data on the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_a_province_sees_only_its_own_figures(cast: Cast, index_events: Indexer) -> None:
    incident_create(province=cast.hni, title="hni-canary-incident", severity="high")
    incident_create(province=cast.hcm, title="hcm-canary-incident", severity="critical")
    index_events("HNI", 4, host="hni-web-01")
    index_events("HCM", 9, host="hcm-secret-host")
    status, body = page(cast.hni_responder)
    assert status == 200
    data = chart_data(body)
    assert data["province"] == {"labels": ["HNI"], "values": [1]}
    assert [s["label"] for s in data["events"]["series"]] == ["HNI"]
    assert sum(data["events"]["series"][0]["values"]) == 4
    assert data["sources"]["labels"] == ["hni-web-01"]
    assert "hcm-canary-incident" not in body and "hcm-secret-host" not in body


def test_the_national_view_covers_every_province(cast: Cast, index_events: Indexer) -> None:
    incident_create(province=cast.hni, title="a", severity="high")
    incident_create(province=cast.hcm, title="b", severity="low")
    index_events("HNI", 2)
    index_events("HCM", 3)
    _, body = page(cast.analyst)
    data = chart_data(body)
    assert sorted(data["province"]["labels"]) == ["HCM", "HNI"]
    assert {s["label"]: sum(s["values"]) for s in data["events"]["series"]} == {"HNI": 2, "HCM": 3}


def test_a_central_user_can_narrow_to_one_province(cast: Cast, index_events: Indexer) -> None:
    incident_create(province=cast.hni, title="a", severity="high")
    incident_create(province=cast.hcm, title="b", severity="low")
    index_events("HCM", 3)
    _, body = page(cast.analyst, province="HCM")
    data = chart_data(body)
    assert data["province"]["labels"] == ["HCM"]
    assert [s["label"] for s in data["events"]["series"]] == ["HCM"]


def test_another_provinces_view_is_not_found(cast: Cast, es: object) -> None:
    assert page(cast.hni_responder, province="HCM")[0] == 404
    assert page(cast.hni_responder, province="NOPE")[0] == 404


def test_collectors_online_counts_recent_check_ins(cast: Cast, hni_collector: EnrolledCollector, es: object) -> None:
    Collector.objects.filter(pk=hni_collector.collector.pk).update(last_seen_at=timezone.now())
    stale = Collector.objects.create(name="old", organisation=cast.hni, secret_hash="x" * 64,
                                     last_seen_at=timezone.now() - timedelta(hours=2))
    assert stale.pk
    _, body = page(cast.hni_responder)
    assert re.search(r'id="collectors-online">1 / 2<', body)


def alert(rule: DetectionRule, province: Organisation, entity: str, *, days_ago: float = 0,
          suppressed: bool = False) -> Alert:
    seen = timezone.now() - timedelta(days=days_ago)
    return Alert.objects.create(uid=f"{rule.pk}:{province.code}:{entity}", rule=rule, province=province,
                                entity_kind="ip", entity_value=entity, severity="high", first_seen=seen,
                                last_seen=seen, suppressed=suppressed)


def test_top_rules_count_detection_alerts_in_the_users_provinces_only(cast: Cast, es: object) -> None:
    brute = DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params={})
    scan = DetectionRule.objects.create(name="Port scan", kind=RuleKind.THRESHOLD, params={})
    secret = DetectionRule.objects.create(name="hcm-only-rule", kind=RuleKind.THRESHOLD, params={})
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        alert(brute, cast.hni, ip)
    alert(scan, cast.hni, "203.0.113.9")
    alert(scan, cast.hni, "203.0.113.10", suppressed=True)
    alert(scan, cast.hni, "203.0.113.11", days_ago=45)
    alert(secret, cast.hcm, "198.51.100.1")
    _, body = page(cast.hni_responder)
    assert chart_data(body)["rules"] == {"labels": ["SSH brute force", "Port scan"], "values": [3, 1]}
    assert "hcm-only-rule" not in body
    national = chart_data(page(cast.analyst)[1])["rules"]
    assert dict(zip(national["labels"], national["values"], strict=True)) == {
        "SSH brute force": 3, "Port scan": 1, "hcm-only-rule": 1}
    narrowed = chart_data(page(cast.analyst, province="HCM")[1])["rules"]
    assert narrowed == {"labels": ["hcm-only-rule"], "values": [1]}


def test_weekly_series_give_mean_times_and_sla_compliance_per_week(cast: Cast, es: object) -> None:
    on_time, late, missed = (incident_create(province=cast.hni, title=t, severity="high") for t in "abc")
    assert on_time.ack_due_at is not None, "incidents get SLA deadlines when opened"
    Incident.objects.filter(pk=on_time.pk).update(ack_due_at=on_time.created_at + timedelta(minutes=15),
                                                  acknowledged_at=on_time.created_at + timedelta(minutes=10))
    Incident.objects.filter(pk=late.pk).update(ack_due_at=late.created_at + timedelta(minutes=5),
                                               acknowledged_at=late.created_at + timedelta(minutes=50))
    Incident.objects.filter(pk=missed.pk).update(ack_due_at=timezone.now() - timedelta(minutes=1))
    incident_create(province=cast.hni, title="not due yet, not decided")
    _, body = page(cast.hni_responder)
    data = chart_data(body)
    assert len(data["times"]["labels"]) == 12 and len(data["sla"]["labels"]) == 12
    mtta, mttr = (series["values"] for series in data["times"]["series"])
    acknowledged, resolved = (series["values"] for series in data["sla"]["series"])
    assert mtta[-1] == 30.0 and mttr[-1] is None
    assert acknowledged[-1] == round(100 / 3, 1) and resolved[-1] is None
    assert mtta[:-1] == [None] * 11, "nothing was opened in earlier weeks"
    assert 'data-chart="times"' in body and 'data-chart="sla"' in body


def opened_weeks_ago(province: Organisation, weeks: int, *, ack_minutes: int) -> Incident:
    incident = incident_create(province=province, title="older")
    opened = timezone.now() - timedelta(weeks=weeks)
    Incident.objects.filter(pk=incident.pk).update(created_at=opened, acknowledged_at=opened + timedelta(
        minutes=ack_minutes), ack_due_at=opened + timedelta(minutes=60))
    return incident


def test_past_weeks_come_from_the_rollup_kept_apart_per_scope(cast: Cast, es: object) -> None:
    opened_weeks_ago(cast.hni, 2, ack_minutes=20)
    opened_weeks_ago(cast.hcm, 2, ack_minutes=120)
    assert chart_data(page(cast.analyst)[1])["times"]["series"][0]["values"][-3] is None, "not rolled up yet"
    assert weekly_figures_refresh(now=timezone.now()) == 2
    hni = chart_data(page(cast.hni_responder)[1])
    national = chart_data(page(cast.analyst)[1])
    hcm = chart_data(page(cast.hcm_responder)[1])
    narrowed = chart_data(page(cast.analyst, province="HCM")[1])
    assert hni["times"]["series"][0]["values"][-3] == 20.0
    assert hcm["times"]["series"][0]["values"][-3] == 120.0 == narrowed["times"]["series"][0]["values"][-3]
    assert national["times"]["series"][0]["values"][-3] == 70.0, "the mean of both, not the mean of two means"
    assert hni["sla"]["series"][0]["values"][-3] == 100.0 and hcm["sla"]["series"][0]["values"][-3] == 0.0


def test_the_tiles_cover_the_last_four_weeks_with_this_week_counted_live(cast: Cast, es: object) -> None:
    opened_weeks_ago(cast.hni, 3, ack_minutes=20)
    opened_weeks_ago(cast.hni, 5, ack_minutes=500)  # outside the tiles' four weeks
    weekly_figures_refresh(now=timezone.now())
    today = incident_create(province=cast.hni, title="today")
    Incident.objects.filter(pk=today.pk).update(acknowledged_at=today.created_at + timedelta(minutes=10))
    client = Client()
    client.force_login(cast.hni_responder)
    dashboard = client.get(URL).context["dashboard"]
    assert dashboard.mtta_minutes == 15.0
    assert dashboard.weekly.mtta[-1] == 10.0 and dashboard.weekly.mtta[-6] == 500.0


def test_refreshing_the_rollup_replaces_it_and_drops_weeks_out_of_range(cast: Cast, es: object) -> None:
    old = opened_weeks_ago(cast.hni, 2, ack_minutes=20)
    opened_weeks_ago(cast.hni, 20, ack_minutes=20)
    assert weekly_figures_refresh(now=timezone.now()) == 1
    old.refresh_from_db()
    Incident.objects.filter(pk=old.pk).update(acknowledged_at=old.created_at + timedelta(minutes=40))
    assert weekly_figures_refresh(now=timezone.now()) == 1
    [row] = WeeklyFigures.objects.all()
    assert (row.province, row.ack_count, row.ack_seconds) == (cast.hni, 1, 2400.0)


def test_the_rollup_is_refreshed_every_five_minutes_by_beat(cast: Cast, es: object) -> None:
    entry = beat_schedule()["console-refresh-weekly-figures"]
    assert entry["schedule"] == entry["options"]["expires"] == 300.0
    opened_weeks_ago(cast.hni, 1, ack_minutes=20)
    assert refresh_weekly_figures() == 1


def test_weekly_series_leave_out_other_provinces(cast: Cast, es: object) -> None:
    hcm = incident_create(province=cast.hcm, title="t")
    Incident.objects.filter(pk=hcm.pk).update(acknowledged_at=hcm.created_at + timedelta(minutes=90))
    data = chart_data(page(cast.hni_responder)[1])
    assert data["times"]["series"][0]["values"][-1] is None
    assert chart_data(page(cast.analyst)[1])["times"]["series"][0]["values"][-1] == 90.0


def test_mean_time_to_acknowledge_is_shown_when_incidents_were_acknowledged(cast: Cast, es: object) -> None:
    incident = incident_create(province=cast.hni, title="t")
    Incident.objects.filter(pk=incident.pk).update(acknowledged_at=incident.created_at + timedelta(minutes=30))
    client = Client()
    client.force_login(cast.hni_responder)
    dashboard = client.get(URL).context["dashboard"]
    assert dashboard.mtta_minutes == 30.0
    assert dashboard.mttr_minutes is None


def test_cached_figures_are_shared_only_by_users_with_the_same_scope(cast: Cast, es: object, settings: Any) -> None:
    settings.SOC_DASHBOARD_CACHE_SECONDS = 60
    import redis

    store = redis.Redis.from_url(settings.REDIS_URL)
    for key in store.scan_iter(f"{settings.NAMESPACE}:*console:dashboard:*"):
        store.delete(key)
    incident_create(province=cast.hni, title="hni-canary-incident", severity="high")
    incident_create(province=cast.hcm, title="hcm-canary-incident", severity="high")
    _, hni_body = page(cast.hni_responder)
    _, analyst_body = page(cast.analyst)
    _, hcm_body = page(cast.hcm_responder)
    assert "hcm-canary-incident" not in hni_body
    assert "hni-canary-incident" in analyst_body and "hcm-canary-incident" in analyst_body
    assert "hni-canary-incident" not in hcm_body
    incident_create(province=cast.hni, title="hni-second-incident", severity="high")
    assert "hni-second-incident" not in page(cast.hni_responder)[1], "figures are cached for a while"
