"""The rules API: a central lead manages, everyone else reads what their scope allows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from elasticsearch import Elasticsearch

from detection.models import DetectionRule, RuleRun, RuleVersion
from tests.conftest import Cast
from tests.detection_engine.conftest import Index, ago, event, make_rule

pytestmark = pytest.mark.django_db
THRESHOLD = {"name": "brute", "kind": "threshold",
             "params": {"query": "event.outcome:failure", "group_by": ["source.ip"], "count": 3,
                        "window_seconds": 60}}
WHOAMI = ("title: whoami\nlogsource: {product: windows, category: process_creation}\n"
          "detection:\n  sel: {Image|endswith: '\\\\whoami.exe'}\n  condition: sel\n")


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def test_a_central_lead_creates_a_rule_and_each_edit_is_a_version(cast: Cast) -> None:
    lead = as_user(cast.lead)
    created = post(lead, "/api/v1/rules/", THRESHOLD)
    rule_id = created.json()["id"]

    edited = lead.patch(f"/api/v1/rules/{rule_id}/", {"severity": "high"}, content_type="application/json")

    assert created.status_code == 201 and edited.status_code == 200 and edited.json()["version"] == 2
    versions = lead.get(f"/api/v1/rules/{rule_id}/versions/").json()["results"]
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["author"] == "lead"
    assert RuleVersion.objects.get(version=1).snapshot["severity"] == "medium"


def test_malformed_sigma_yaml_gets_a_clear_error_and_the_other_rules_are_untouched(cast: Cast) -> None:
    lead = as_user(cast.lead)
    post(lead, "/api/v1/rules/", THRESHOLD)

    bad = post(lead, "/api/v1/rules/", {"name": "bad", "kind": "sigma", "params": {"yaml": "title: [x\n"}})

    assert bad.status_code == 400
    [problem] = bad.json()["error"]["details"]["problems"]
    assert problem["kind"] == "yaml" and "YAML syntax error" in problem["message"] and problem["line"] == 2
    assert list(DetectionRule.objects.values_list("name", flat=True)) == ["brute"]


def test_an_edit_that_breaks_a_rule_is_refused_and_the_working_version_stays(cast: Cast) -> None:
    rule = make_rule(**THRESHOLD)

    resp = as_user(cast.lead).patch(f"/api/v1/rules/{rule.pk}/", {"params": {"count": 0}},
                                    content_type="application/json")

    assert resp.status_code == 400
    rule.refresh_from_db()
    assert rule.params["count"] == 3 and rule.version == 1


@pytest.mark.parametrize("who", ["analyst", "auditor", "hni_responder"])
def test_only_a_central_lead_may_write_rules(cast: Cast, who: str) -> None:
    rule = make_rule(**THRESHOLD)
    client = as_user(getattr(cast, who))

    assert client.get(f"/api/v1/rules/{rule.pk}/").status_code == 200
    assert post(client, "/api/v1/rules/", {**THRESHOLD, "name": "x"}).status_code == 403
    assert client.patch(f"/api/v1/rules/{rule.pk}/", {}, content_type="application/json").status_code == 403
    assert client.delete(f"/api/v1/rules/{rule.pk}/").status_code == 403
    assert post(client, f"/api/v1/rules/{rule.pk}/test/", {"start": "2026-01-01T00:00:00Z",
                                                          "end": "2026-01-02T00:00:00Z"}).status_code == 403


def test_another_provinces_rule_is_missing_for_a_provincial_responder(cast: Cast) -> None:
    hcm_rule = make_rule(**{**THRESHOLD, "name": "hcm"}, organisation=cast.hcm)
    national = make_rule(**THRESHOLD)
    client = as_user(cast.hni_responder)

    names = [r["name"] for r in client.get("/api/v1/rules/").json()["results"]]

    assert names == ["brute"]
    assert client.get(f"/api/v1/rules/{hcm_rule.pk}/").status_code == 404
    assert client.get(f"/api/v1/rules/{hcm_rule.pk}/runs/").status_code == 404
    assert client.get(f"/api/v1/rules/{national.pk}/runs/").status_code == 200


def test_a_test_run_answers_what_the_rule_would_have_found(es: Elasticsearch, cast: Cast, index: Index) -> None:
    rule = make_rule(**THRESHOLD)
    index(*[event(ago(600 - i), event__outcome="failure", source__ip="203.0.113.4") for i in range(3)])

    resp = post(as_user(cast.lead), f"/api/v1/rules/{rule.pk}/test/",
                {"start": ago(3600).isoformat(), "end": ago(0).isoformat()})

    assert resp.status_code == 200 and resp.json()["would_alert"] == 1


def test_a_sigma_import_reports_each_file(cast: Cast) -> None:
    resp = post(as_user(cast.lead), "/api/v1/rules/import-sigma/", {"rules": [
        {"path": "good.yml", "yaml": WHOAMI}, {"path": "bad.yml", "yaml": "title: x\nlogsource: {product: aws}\n"}]})

    body = resp.json()
    assert resp.status_code == 200 and body["imported"] == 1 and body["total"] == 2
    assert body["results"][1]["path"] == "bad.yml" and body["results"][1]["reasons"]
    assert DetectionRule.objects.get().enabled is False  # imported rules wait for a lead to enable them


def test_alerts_are_listed_only_within_the_users_province(es: Elasticsearch, cast: Cast, index: Index) -> None:
    from detection.services import rule_run

    rule = make_rule(**THRESHOLD)
    index(*[event(ago(30 - i), org=org, event__outcome="failure", source__ip="203.0.113.4")
            for org in ("HNI", "HCM") for i in range(3)])
    rule_run(rule_id=rule.pk)

    provinces = [a["province"] for a in as_user(cast.hni_responder).get("/api/v1/alerts/").json()["results"]]

    assert provinces == ["HNI"]
    assert len(as_user(cast.analyst).get("/api/v1/alerts/").json()["results"]) == 2


def test_the_import_sigma_command_prints_each_file_imported_or_why_not(orgs: None, tmp_path: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    (tmp_path / "good.yml").write_text(WHOAMI)
    (tmp_path / "bad.yml").write_text("title: x\nlogsource: {product: aws, service: cloudtrail}\n"
                                      "detection:\n  s: {a: b}\n  condition: s\n")
    out = StringIO()

    call_command("import_sigma", str(tmp_path), stdout=out)

    lines = out.getvalue().splitlines()
    assert any(line.startswith("imported") and "good.yml" in line for line in lines)
    assert any(line.startswith("rejected") and "bad.yml" in line and "aws" in line for line in lines)
    assert lines[-1].startswith("1 of 2 rules imported")


def test_the_import_indicators_command_stores_good_lines_and_prints_bad_ones(orgs: None, tmp_path: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    from detection.models import Indicator

    feed = tmp_path / "feed.csv"
    feed.write_text("type,value\nip,192.0.2.9\ndomain,Bad.Example.\nip,999.1.1.1\n")
    out = StringIO()

    call_command("import_indicators", str(feed), "--format", "csv", "--source", "cert-feed", stdout=out)

    assert sorted(Indicator.objects.values_list("value", flat=True)) == ["192.0.2.9", "bad.example"]
    assert "line 4" in out.getvalue() and "2 created, 0 refreshed, 1 skipped" in out.getvalue()


def test_api_writes_to_rules_are_audited_with_the_actor(cast: Cast) -> None:
    from organisations.models import AuditLog

    lead = as_user(cast.lead)
    rule_id = post(lead, "/api/v1/rules/", THRESHOLD).json()["id"]
    lead.patch(f"/api/v1/rules/{rule_id}/", {"severity": "high"}, content_type="application/json")
    lead.delete(f"/api/v1/rules/{rule_id}/")

    entries = AuditLog.objects.filter(object_type="detection_rule", object_ref=str(rule_id)).order_by("id")
    assert [e.action for e in entries] == ["rule.created", "rule.updated", "rule.deleted"]
    assert {e.actor_name for e in entries} == {"lead"}
    assert entries[1].before == {"severity": "medium"} and entries[1].after == {"version": 2, "severity": "high"}


def test_a_national_rule_is_switched_per_province_through_the_api(cast: Cast) -> None:
    rule = make_rule(**THRESHOLD)
    lead, hni = as_user(cast.lead), as_user(cast.hni_responder)

    refused = hni.put(f"/api/v1/rules/{rule.pk}/provinces/HNI/", {"enabled": False}, content_type="application/json")
    switched = lead.put(f"/api/v1/rules/{rule.pk}/provinces/HNI/", {"enabled": False},
                        content_type="application/json")
    unknown = lead.put(f"/api/v1/rules/{rule.pk}/provinces/ZZZ/", {"enabled": False},
                       content_type="application/json")

    assert (refused.status_code, switched.status_code, unknown.status_code) == (403, 200, 404)
    states = {s["province"]: s["enabled"] for s in lead.get(f"/api/v1/rules/{rule.pk}/provinces/").json()}
    assert len(states) == 34 and states["HNI"] is False and states["HCM"] is True
    assert hni.get(f"/api/v1/rules/{rule.pk}/").status_code == 404  # no longer applies to Hà Nội
    assert as_user(cast.hcm_responder).get(f"/api/v1/rules/{rule.pk}/provinces/").json() == [
        {"province": "HCM", "enabled": True}]


def _capped_run(rule: DetectionRule) -> None:
    """A run of ``rule`` whose totals (hits, alerts, the cap's overflow) count every province's events."""
    now = timezone.now()
    RuleRun.objects.create(rule=rule, started_at=now, range_start=now - timedelta(minutes=1), range_end=now,
                           hits=4321, alerts=77, gap_seconds=600, alert_cap_hit=True,
                           error="alert cap of 200 per run reached; 4121 more not alerted")


def test_a_province_reads_a_national_rules_runs_without_the_national_totals(cast: Cast) -> None:
    national = make_rule(**THRESHOLD)
    _capped_run(national)

    response = as_user(cast.hni_responder).get(f"/api/v1/rules/{national.pk}/runs/")

    [run] = response.json()["results"]
    assert response.status_code == 200
    assert run["hits"] is None and run["alerts"] is None and run["error"]  # "alert cap reached", translated
    assert run["gap_seconds"] == 600 and run["alert_cap_hit"] is True  # what the HTML runs page shows them
    assert "4321" not in response.content.decode() and "4121" not in response.content.decode()


def test_national_scope_and_a_provinces_own_rule_read_the_totals_of_their_runs(cast: Cast) -> None:
    national, hni_rule = make_rule(**THRESHOLD), make_rule(**{**THRESHOLD, "name": "hni"}, organisation=cast.hni)
    _capped_run(national)
    _capped_run(hni_rule)

    [central] = as_user(cast.auditor).get(f"/api/v1/rules/{national.pk}/runs/").json()["results"]
    [own] = as_user(cast.hni_responder).get(f"/api/v1/rules/{hni_rule.pk}/runs/").json()["results"]

    for run in (central, own):
        assert run["hits"] == 4321 and run["alerts"] == 77 and "4121 more not alerted" in run["error"]
