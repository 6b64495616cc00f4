"""Each rule kind finds what it should, and nothing else, on real Elasticsearch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from detection.indicators import indicators_import
from detection.kinds import RuleInvalid
from detection.models import Alert, DetectionRule
from detection.services import rule_run, rules_run
from tests.detection_engine.conftest import Index, ago, event, make_rule, now

pytestmark = pytest.mark.django_db


def ssh(moment_ago: float, outcome: str, ip: str = "203.0.113.5", user: str = "root", **more: Any) -> dict[str, Any]:
    return event(ago(moment_ago), event__dataset="system.auth", event__action="ssh_login", event__outcome=outcome,
                 source__ip=ip, user__name=user, **more)


def test_invalid_sigma_yaml_is_refused_with_its_line_and_nothing_is_stored(orgs: None) -> None:
    with pytest.raises(RuleInvalid) as caught:
        make_rule(name="broken", kind="sigma", params={"yaml": "title: x\ndetection:\n  sel: [a\n  condition: sel\n"})

    assert caught.value.problems[0]["kind"] == "yaml" and caught.value.problems[0]["line"]
    assert not DetectionRule.objects.exists()


def test_a_sigma_rule_on_an_uncollected_log_source_says_why(orgs: None) -> None:
    text = "title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {a: b}\n  condition: s\n"
    with pytest.raises(RuleInvalid, match="not collected"):
        make_rule(name="aws", kind="sigma", params={"yaml": text})


def test_threshold_parameters_are_checked_before_saving(orgs: None) -> None:
    with pytest.raises(RuleInvalid, match="group_by"):
        make_rule(name="t", kind="threshold", params={"count": 3, "window_seconds": 60})


def test_a_distinct_count_threshold_finds_password_spraying(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="spray", kind="threshold", params={
        "query": "event.outcome:failure", "group_by": ["source.ip"], "count": 4, "window_seconds": 120,
        "distinct_field": "user.name"})
    index(*[ssh(50 - i, "failure", user=f"user{i}") for i in range(4)],
          *[ssh(50 - i, "failure", ip="203.0.113.6", user="root") for i in range(10)])

    run = rule_run(rule_id=rule.pk)

    assert run is not None and run.alerts == 1
    assert Alert.objects.get().entity_value == "203.0.113.5"


def test_a_sequence_fires_on_success_after_failures_from_the_same_address(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="success after failures", kind="sequence", params={
        "first": "event.outcome:failure", "then": "event.outcome:success", "by": ["source.ip"],
        "window_seconds": 300, "first_count": 3})
    index(*[ssh(60 - i, "failure") for i in range(3)], ssh(40, "success"),
          ssh(60, "failure", ip="198.51.100.1"), ssh(40, "success", ip="198.51.100.1"),
          ssh(30, "success", ip="198.51.100.2"))

    run = rule_run(rule_id=rule.pk)

    assert run is not None and run.error == "" and run.alerts == 1
    assert Alert.objects.get().group["source.ip"] == "203.0.113.5"


def test_a_new_term_fires_once_for_a_combination_never_seen_in_the_history(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="new user on host", kind="new_term", params={
        "query": "event.outcome:success", "fields": ["user.name", "host.name"], "history_days": 7})
    index(ssh(3 * 86400, "success", user="alice", host__name="db1"),
          ssh(30, "success", user="alice", host__name="db1"), ssh(20, "success", user="mallory", host__name="db1"))

    first = rule_run(rule_id=rule.pk)
    second = rule_run(rule_id=rule.pk, now=now() + timedelta(seconds=10))

    assert first is not None and first.alerts == 1 and first.error == ""
    assert second is not None and second.alerts == 0
    assert Alert.objects.get().group["user.name"] == "mallory"


def test_a_silent_source_is_reported_once(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="quiet source", kind="silence", params={"group_by": ["agent.name"],
                                                                   "silent_seconds": 600})
    index(event(ago(3600), agent__name="web-01"), event(ago(60), agent__name="web-02"))

    first = rule_run(rule_id=rule.pk)
    again = rule_run(rule_id=rule.pk, now=now() + timedelta(seconds=30))

    assert first is not None and first.alerts == 1 and again is not None and again.alerts == 0
    assert Alert.objects.get().entity_value == "web-01"


def test_indicators_from_csv_stix_and_misp_match_events_and_expired_ones_do_not(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    indicators_import(fmt="csv", source="feed-a", text=(
        "type,value,description,expires_at\nip,192.0.2.66,c2,\nip,192.0.2.77,old,2020-01-01T00:00:00Z\n"))
    indicators_import(fmt="stix", source="feed-b", text=(
        '{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1", "name": "bad",'
        ' "pattern": "[domain-name:value = \'Evil.Example\']"}]}'))
    indicators_import(fmt="misp", source="feed-c", text=(
        '{"Event": {"info": "x", "Attribute": [{"type": "sha256", "value": "' + "AB" * 32 + '", "to_ids": true}]}}'))
    rule = make_rule(name="known bad", kind="indicator_match", params={})
    index(event(ago(30), destination__ip="192.0.2.66"), event(ago(30), destination__ip="192.0.2.77"),
          event(ago(20), url__domain="EVIL.example"), event(ago(20), file__hash__sha256="ab" * 32),
          event(ago(10), destination__ip="192.0.2.1"))

    run = rule_run(rule_id=rule.pk)

    assert run is not None and run.error == "" and run.alerts == 3


def test_indicator_files_report_every_line_they_cannot_use() -> None:
    from detection.indicators import read_csv, read_stix

    csv = read_csv("type,value\nip,not-an-ip\nwhat,1.2.3.4\nhash,abc\n")
    stix = read_stix('{"objects": [{"type": "indicator", "id": "indicator--2", "pattern": "[x:y = 1]"}]}')

    assert csv.indicators == [] and [p.split(":")[0] for p in csv.problems] == ["line 2", "line 3", "line 4"]
    assert "indicator--2" in stix.problems[0]


CORRELATION = """
title: failed ssh
name: failed_ssh
logsource: {product: linux, service: sshd}
detection:
    sel:
        - 'Failed password'
    condition: sel
---
title: many users failing from one address
correlation:
    type: value_count
    rules: [failed_ssh]
    group-by: [SourceIp]
    timespan: 5m
    condition: {gte: 3, field: User}
level: high
"""


def test_a_sigma_correlation_rule_runs_as_a_sliding_window(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="corr", kind="sigma", params={"yaml": CORRELATION})
    index(*[ssh(60 - i, "failure", user=f"u{i}", process__name="sshd",
                message=f"FAILED PASSWORD for u{i} from 203.0.113.5") for i in range(3)])

    run = rule_run(rule_id=rule.pk)

    assert rule.kind == "sigma_correlation"
    assert run is not None and run.error == "" and run.alerts == 1


def test_exceptions_keep_matching_events_from_alerting(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="failures", kind="threshold", exceptions=[{"field": "user.name", "values": ["backup"]}],
                     params={"query": "event.outcome:failure", "group_by": ["source.ip"], "count": 3,
                             "window_seconds": 60})
    index(*[ssh(30 - i, "failure", user="backup") for i in range(5)])

    run = rule_run(rule_id=rule.pk)

    assert run is not None and run.alerts == 0


def test_a_province_rule_sees_only_its_own_province(es: Elasticsearch, orgs: None, index: Index) -> None:
    from organisations.models import Organisation

    rule = make_rule(name="hcm only", kind="threshold", organisation=Organisation.objects.get(code="HCM"),
                     params={"query": "event.outcome:failure", "group_by": ["source.ip"], "count": 3,
                             "window_seconds": 60})
    index(*[ssh(30 - i, "failure") for i in range(5)])

    assert rules_run(rule_ids=[rule.pk])[0].alerts == 0
