"""Alerts become incidents per province and entity, across rules; closed ones reopen; test runs write nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from elasticsearch import Elasticsearch

from detection.authoring import rule_test_run
from detection.models import Alert, DetectionRule, RuleRun
from detection.services import rules_run
from incidents.models import Incident
from incidents.services.workflow import incident_change_status
from organisations.actors import Actor
from tests.detection_engine.conftest import Index, ago, event, make_rule, now

pytestmark = pytest.mark.django_db
FAILURES = {"query": "event.outcome:failure", "group_by": ["source.ip"], "count": 3, "window_seconds": 120}
SPRAY = {**FAILURES, "distinct_field": "user.name"}


def failures(ip: str, org: str = "HNI", users: int = 3, start: float = 60) -> list[dict[str, object]]:
    return [event(ago(start - i), org=org, event__outcome="failure", source__ip=ip, user__name=f"u{i % users}")
            for i in range(4)]


def test_two_rules_on_the_same_address_share_one_incident_with_the_worse_severity_and_both_techniques(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    brute = make_rule(name="brute", kind="threshold", params=FAILURES, severity="medium", techniques=["T1110.001"])
    spray = make_rule(name="spray", kind="threshold", params=SPRAY, severity="high", techniques=["T1110.003"],
                      tactics=["credential-access"])
    refs = index(*failures("203.0.113.9"))

    rules_run(rule_ids=[brute.pk, spray.pk])

    [incident] = Incident.objects.all()
    assert incident.alert_count == 2 and incident.severity == "high" and incident.province.code == "HNI"
    assert incident.mitre_techniques == ["T1110.001", "T1110.003"]
    alerts = Alert.objects.filter(incident=incident)
    assert {a.rule.name for a in alerts} == {"brute", "spray"}
    assert set(alerts.get(rule=spray).event_refs) == set(refs)
    assert alerts.get(rule=spray).tactics == ["credential-access"]


def test_the_same_address_in_two_provinces_is_two_incidents(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="brute", kind="threshold", params=FAILURES)
    index(*failures("203.0.113.9"), *failures("203.0.113.9", org="HCM"))

    rules_run(rule_ids=[rule.pk])

    assert sorted(Incident.objects.values_list("province__code", flat=True)) == ["HCM", "HNI"]


def test_a_recently_closed_incident_is_reopened_rather_than_twinned(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="brute", kind="threshold", params=FAILURES)
    index(*failures("203.0.113.9", start=200))
    t0 = now()
    rules_run(rule_ids=[rule.pk], now=t0)
    incident = Incident.objects.get()
    incident_change_status(incident=incident, status="closed", actor=Actor.system(), resolution_summary="blocked")
    index(*failures("203.0.113.9", start=30))

    rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=40))

    [again] = Incident.objects.all()
    assert again.pk == incident.pk and again.status == "in_progress" and again.alert_count == 2


def test_a_suppression_window_keeps_repeats_off_the_incident(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="brute", kind="threshold", params={**FAILURES, "count": 2, "window_seconds": 1},
                     suppress_seconds=600)
    index(*failures("203.0.113.9"))  # four failures a second apart: two bursts of two

    rules_run(rule_ids=[rule.pk])

    assert Alert.objects.count() == 2 and Alert.objects.filter(suppressed=True).count() == 1
    assert Incident.objects.get().alert_count == 1


def test_a_test_run_shows_what_a_rule_would_have_found_and_writes_nothing(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="brute", kind="threshold", params=FAILURES)
    index(*failures("203.0.113.9", start=3600))

    result = rule_test_run(rule=rule, start=now() - timedelta(hours=2), end=now())

    assert result["would_alert"] == 1 and result["findings"][0]["entity"] == {"kind": "ip", "value": "203.0.113.9"}
    assert not Alert.objects.exists() and not Incident.objects.exists() and not RuleRun.objects.exists()
    assert DetectionRule.objects.get().checkpoint is None
