"""The rules pages in the console, for each role: the lead edits, central staff read, a province sees its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from elasticsearch import Elasticsearch

from detection.alerts import alert_raise
from detection.authoring import rule_province_set
from detection.engine import Finding
from detection.models import DetectionRule, RuleProvinceState, RuleRun
from detection.services import rules_run
from organisations.actors import Actor
from organisations.models import AuditLog
from tests.conftest import Cast
from tests.detection_engine.conftest import Index, ago, event, make_rule

pytestmark = pytest.mark.django_db

WHOAMI = """title: whoami
logsource: {product: windows, category: process_creation}
detection:
    sel: {Image|endswith: '\\\\whoami.exe'}
    condition: sel
level: high
"""
BROKEN = WHOAMI.replace("    condition: sel\n", "    condition: sel\n  oops: [unclosed\n")
THRESHOLD = {"query": "event.outcome:failure", "group_by": ["source.ip"], "count": 3, "window_seconds": 60}


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # the assertions read English text
    client.force_login(user)
    return client


def form_data(**override: Any) -> dict[str, Any]:
    data = {"name": "whoami", "kind": "sigma", "enabled": "on", "severity": "", "category": "other",
            "interval_seconds": 5, "lookback_seconds": 300, "delay_seconds": 2, "max_alerts_per_run": 200,
            "suppress_seconds": 0, "exceptions": "", "sigma_yaml": WHOAMI}
    return {**data, **override}


@pytest.fixture
def rules(cast: Cast) -> dict[str, DetectionRule]:
    return {
        "national": make_rule(name="national whoami", kind="sigma", params={"yaml": WHOAMI}),
        "hni": make_rule(name="HNI failures", kind="threshold", params=THRESHOLD, organisation=cast.hni),
        "hcm": make_rule(name="HCM failures", kind="threshold", params=THRESHOLD, organisation=cast.hcm),
    }


def rule_names(response: Any) -> set[str]:
    return {rule.name for rule in (row.rule for row in response.context["rows"])}


# --- reading ------------------------------------------------------------------------------------------

def test_central_staff_see_every_rule_with_its_scope_last_run_and_errors(cast: Cast, rules: dict[str, Any]) -> None:
    DetectionRule.objects.filter(pk=rules["hni"].pk).update(last_error="search failed: boom", consecutive_errors=2)
    rules_run(rule_ids=[rules["national"].pk])
    for user in (cast.lead, cast.analyst, cast.auditor):
        response = client_for(user).get(reverse("detection:rules"))
        assert response.status_code == 200
        assert rule_names(response) == {"national whoami", "HNI failures", "HCM failures"}
    last_runs = {row.rule.name: row.last_run_at for row in response.context["rows"]}
    assert last_runs["national whoami"] is not None and last_runs["HCM failures"] is None
    body = response.content.decode()
    assert "2 \u00d7 search failed: boom" in body and "National" in body and "HCM" in body


def test_a_province_sees_national_rules_and_its_own_but_never_another_provinces(
        cast: Cast, rules: dict[str, Any]) -> None:
    client = client_for(cast.hni_responder)

    assert rule_names(client.get(reverse("detection:rules"))) == {"national whoami", "HNI failures"}
    assert client.get(reverse("detection:rule", args=[rules["hni"].pk])).status_code == 200
    assert client.get(reverse("detection:rule", args=[rules["hcm"].pk])).status_code == 404
    assert client.get(reverse("detection:rule-runs", args=[rules["hcm"].pk])).status_code == 404
    assert client.get(reverse("detection:rule", args=[999999])).status_code == 404


def test_a_national_rule_switched_off_in_a_province_is_gone_from_that_provinces_pages(
        cast: Cast, rules: dict[str, Any]) -> None:
    rule_province_set(rule=rules["national"], province=cast.hni, enabled=False, actor=Actor(user=cast.lead))

    hni, hcm = client_for(cast.hni_responder), client_for(cast.hcm_responder)

    assert "national whoami" not in rule_names(hni.get(reverse("detection:rules")))
    assert hni.get(reverse("detection:rule", args=[rules["national"].pk])).status_code == 404
    assert hcm.get(reverse("detection:rule", args=[rules["national"].pk])).status_code == 200
    lead_page = client_for(cast.lead).get(reverse("detection:rules")).content.decode()
    assert "off in 1 province" in lead_page


def test_readers_get_the_rule_as_text_and_no_form(cast: Cast, rules: dict[str, Any]) -> None:
    for user in (cast.analyst, cast.auditor, cast.hni_responder):
        response = client_for(user).get(reverse("detection:rule", args=[rules["national"].pk]))
        body = response.content.decode()
        assert response.status_code == 200
        assert 'id="rule-yaml"' in body and "whoami.exe" in body
        assert 'id="rule-form"' not in body and 'id="test-form"' not in body


def test_a_province_reads_run_times_and_gaps_but_not_the_national_totals(cast: Cast, rules: dict[str, Any]) -> None:
    now = timezone.now()
    RuleRun.objects.create(rule=rules["national"], started_at=now, range_start=now - timedelta(minutes=1),
                           range_end=now, hits=4321, alerts=77, gap_seconds=600, alert_cap_hit=True,
                           error="alert cap of 200 per run reached; 4121 more not alerted")

    province = client_for(cast.hni_responder).get(reverse("detection:rule-runs", args=[rules["national"].pk]))
    central = client_for(cast.analyst).get(reverse("detection:rule-runs", args=[rules["national"].pk]))

    assert province.status_code == central.status_code == 200
    assert "600" in province.content.decode() and "alert cap reached" in province.content.decode()
    assert "4321" not in province.content.decode() and "4121" not in province.content.decode()
    assert "4321" in central.content.decode() and "4121 more not alerted" in central.content.decode()


def test_a_province_counts_only_its_own_alerts_of_a_national_rule(cast: Cast, rules: dict[str, Any]) -> None:
    moment = timezone.now()
    for n, org in enumerate(["HNI", "HCM", "HCM"]):
        alert_raise(rule=rules["national"], finding=Finding(
            group={"organization.id": org, "source.ip": f"203.0.113.{n}"}, first=moment, last=moment, count=1,
            key=str(n)))

    hni = client_for(cast.hni_responder).get(reverse("detection:rule", args=[rules["national"].pk]))
    lead = client_for(cast.lead).get(reverse("detection:rule", args=[rules["national"].pk]))

    assert hni.context["alert_count"] == 1
    assert lead.context["alert_count"] == 3


def test_signed_out_visitors_are_sent_to_sign_in(rules: dict[str, Any]) -> None:
    response = Client().get(reverse("detection:rules"))

    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- writing: only the central lead -------------------------------------------------------------------

@pytest.mark.parametrize("who", ["analyst", "auditor", "hni_responder"])
def test_nobody_but_the_lead_may_change_a_rule(cast: Cast, rules: dict[str, Any], who: str) -> None:
    client, pk = client_for(getattr(cast, who)), rules["national"].pk
    answers = [
        client.get(reverse("detection:rule-new")).status_code,
        client.post(reverse("detection:rule-new"), form_data(name="new")).status_code,
        client.post(reverse("detection:rule", args=[pk]), form_data(name="renamed")).status_code,
        client.post(reverse("detection:rule-test", args=[pk]), {"period": "1h"}).status_code,
        client.post(reverse("detection:rule-province", args=[pk, "HNI"]), {"enabled": "off"}).status_code,
        client.post(reverse("detection:rule-delete", args=[pk])).status_code,
    ]

    assert answers == [403] * 6
    assert DetectionRule.objects.filter(name="national whoami", version=1).exists()
    assert not RuleProvinceState.objects.exists()


def test_another_provinces_rule_is_404_before_any_role_check(cast: Cast, rules: dict[str, Any]) -> None:
    client, pk = client_for(cast.hni_responder), rules["hcm"].pk

    assert client.post(reverse("detection:rule", args=[pk]), form_data()).status_code == 404
    assert client.post(reverse("detection:rule-delete", args=[pk])).status_code == 404


def test_invalid_sigma_yaml_is_shown_inline_with_its_line_and_nothing_is_stored(cast: Cast) -> None:
    response = client_for(cast.lead).post(reverse("detection:rule-new"), form_data(sigma_yaml=BROKEN))

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="yaml-errors"' in body and "line 6" in body
    assert "oops: [unclosed" in body  # the author's text comes back to be fixed
    assert not DetectionRule.objects.exists()
    assert not AuditLog.objects.filter(object_type="detection_rule").exists()


def test_the_lead_creates_a_sigma_rule_and_the_audit_log_records_it(cast: Cast) -> None:
    response = client_for(cast.lead).post(reverse("detection:rule-new"), form_data())

    rule = DetectionRule.objects.get(name="whoami")
    assert response.status_code == 302 and response["Location"] == reverse("detection:rule", args=[rule.pk])
    assert rule.enabled and rule.severity == "high"  # the Sigma level, as the author left severity blank
    entry = AuditLog.objects.get(object_type="detection_rule", object_ref=str(rule.pk))
    assert (entry.action, entry.actor_name, entry.organisation.code) == ("rule.created", "lead", "VN")


def test_a_broken_edit_keeps_the_working_version_running(cast: Cast, rules: dict[str, Any]) -> None:
    rule = rules["national"]
    client = client_for(cast.lead)

    broken = client.post(reverse("detection:rule", args=[rule.pk]), form_data(name=rule.name, sigma_yaml=BROKEN))
    fixed = client.post(reverse("detection:rule", args=[rule.pk]), form_data(
        name=rule.name, sigma_yaml=WHOAMI.replace("whoami.exe", "net.exe"), exceptions="host.name = ws1, ws2"))

    assert broken.status_code == 400 and "line 6" in broken.content.decode()
    assert fixed.status_code == 302
    rule.refresh_from_db()
    assert rule.version == 2 and "net.exe" in rule.params["yaml"]
    assert rule.exceptions == [{"field": "host.name", "values": ["ws1", "ws2"]}]
    entry = AuditLog.objects.get(action="rule.updated", object_ref=str(rule.pk))
    assert "whoami.exe" in entry.before["params"]["yaml"] and "net.exe" in entry.after["params"]["yaml"]


def test_threshold_parameters_are_edited_as_fields_and_checked(cast: Cast, rules: dict[str, Any]) -> None:
    rule, client = rules["hni"], client_for(cast.lead)
    base = form_data(name=rule.name, kind="threshold", sigma_yaml="", severity="medium", query="event.outcome:failure",
                     window_seconds=120, count=5)

    refused = client.post(reverse("detection:rule", args=[rule.pk]), {**base, "group_by": ""})
    saved = client.post(reverse("detection:rule", args=[rule.pk]), {**base, "group_by": "source.ip, user.name"})

    assert refused.status_code == 400 and "group_by takes one to three fields" in refused.content.decode()
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"query": "event.outcome:failure", "group_by": ["source.ip", "user.name"], "count": 5,
                           "window_seconds": 120}


def test_switching_a_rule_off_in_a_province_stops_its_alerts_there_and_is_audited(
        cast: Cast, rules: dict[str, Any], es: Elasticsearch, index: Index) -> None:
    rule = rules["national"]
    response = client_for(cast.lead).post(reverse("detection:rule-province", args=[rule.pk, "HNI"]),
                                          {"enabled": "off"})
    doc = {"winlog__channel": "Microsoft-Windows-Sysmon/Operational", "event__code": "1",
           "winlog__event_data__Image": r"C:\Windows\System32\whoami.exe"}
    index(event(ago(30), org="HNI", **doc), event(ago(30), org="HCM", **doc))

    [run] = rules_run(rule_ids=[rule.pk])

    assert response.status_code == 302
    assert run.alerts == 1 and rule.alerts.get().province.code == "HCM"
    entry = AuditLog.objects.get(action="rule.province_disabled")
    assert entry.after == {"province": "HNI", "enabled": False} and entry.actor_name == "lead"


def test_a_province_switch_on_a_province_rule_is_refused(cast: Cast, rules: dict[str, Any]) -> None:
    client = client_for(cast.lead)

    response = client.post(reverse("detection:rule-province", args=[rules["hni"].pk, "HNI"]), {"enabled": "off"},
                           follow=True)

    assert "only a national rule is switched per province" in response.content.decode()
    assert not RuleProvinceState.objects.exists()


def test_a_test_over_a_past_period_shows_findings_and_opens_nothing(
        cast: Cast, rules: dict[str, Any], es: Elasticsearch, index: Index) -> None:
    index(*[event(ago(600 + i), org="HNI", event__outcome="failure", source__ip="198.51.100.9") for i in range(4)])

    response = client_for(cast.lead).post(reverse("detection:rule-test", args=[rules["hni"].pk]), {"period": "1h"})

    assert response.status_code == 200
    assert response.context["test_result"]["would_alert"] == 1
    assert "198.51.100.9" in response.content.decode()
    assert not rules["hni"].alerts.exists() and not rules["hni"].runs.exists()


def test_a_custom_test_period_must_end_after_it_starts(cast: Cast, rules: dict[str, Any]) -> None:
    response = client_for(cast.lead).post(reverse("detection:rule-test", args=[rules["hni"].pk]), {
        "period": "custom", "start": "2026-11-02T10:00", "end": "2026-11-01T10:00"})

    assert response.status_code == 400 and "The end must be after the start" in response.content.decode()


def test_deleting_a_rule_is_audited_with_what_it_was(cast: Cast, rules: dict[str, Any]) -> None:
    response = client_for(cast.lead).post(reverse("detection:rule-delete", args=[rules["hcm"].pk]))

    assert response.status_code == 302 and not DetectionRule.objects.filter(name="HCM failures").exists()
    entry = AuditLog.objects.get(action="rule.deleted")
    assert entry.organisation.code == "HCM" and entry.before["params"] == THRESHOLD


def test_hostile_rule_text_is_escaped_on_every_page(cast: Cast) -> None:
    payload = "<script>alert(1)</script>"
    rule = make_rule(name=f"x {payload}", kind="sigma", description=payload,
                     params={"yaml": WHOAMI.replace("title: whoami", f"title: '{payload}'")})
    run_time = timezone.now()
    RuleRun.objects.create(rule=rule, started_at=run_time, range_start=run_time, range_end=run_time,
                           error=payload)

    for user in (cast.lead, cast.analyst):
        client = client_for(user)
        for url in (reverse("detection:rules"), reverse("detection:rule", args=[rule.pk]),
                    reverse("detection:rule-runs", args=[rule.pk])):
            body = client.get(url).content.decode()
            assert payload not in body and "&lt;script&gt;" in body


def test_the_rules_page_costs_the_same_queries_for_three_rules_or_thirty(cast: Cast, rules: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(cast.hni_responder)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("detection:rules")).status_code == 200
        return len(captured.captured_queries)

    few = queries()
    for n in range(27):
        make_rule(name=f"extra {n}", kind="threshold", params=THRESHOLD, organisation=cast.hni if n % 2 else None)
    rule_province_set(rule=rules["national"], province=cast.hcm, enabled=False, actor=Actor.system())

    assert queries() == few


def test_the_lead_scopes_a_new_rule_to_one_province(cast: Cast) -> None:
    client = client_for(cast.lead)

    response = client.post(reverse("detection:rule-new"), form_data(organisation="HCM"))
    unknown = client.post(reverse("detection:rule-new"), form_data(name="other", organisation="ZZZ"))

    rule = DetectionRule.objects.get(name="whoami")
    assert response.status_code == 302 and rule.organisation == cast.hcm
    assert unknown.status_code == 400 and not DetectionRule.objects.filter(name="other").exists()
    assert client_for(cast.hni_responder).get(reverse("detection:rule", args=[rule.pk])).status_code == 404


def test_narrowing_a_national_rule_to_one_province_drops_its_per_province_switches(
        cast: Cast, rules: dict[str, Any]) -> None:
    rule = rules["national"]
    rule_province_set(rule=rule, province=cast.hcm, enabled=False, actor=Actor.system())

    response = client_for(cast.lead).post(reverse("detection:rule", args=[rule.pk]),
                                          form_data(name=rule.name, organisation="HCM"))

    assert response.status_code == 302
    assert not RuleProvinceState.objects.filter(rule=rule).exists()
    assert AuditLog.objects.get(action="rule.updated").after["organisation"] == "HCM"
