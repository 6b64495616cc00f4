"""Dashboards: figures in the user's scope only; a province's own view; charts fed by json_script."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from collectors.models import Collector
from detection.models import DetectionRule, RuleKind
from incidents.models import Incident
from incidents.services import incident_create
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


def test_top_rules_count_alerts_of_detection_incidents(cast: Cast, es: object) -> None:
    rule = DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params={})
    incident = incident_create(province=cast.hni, title="t", dedup_key=f"rule:{rule.pk}:HNI:source.ip=1.2.3.4")
    Incident.objects.filter(pk=incident.pk).update(alert_count=3)
    _, body = page(cast.hni_responder)
    assert chart_data(body)["rules"] == {"labels": ["SSH brute force"], "values": [3]}


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
