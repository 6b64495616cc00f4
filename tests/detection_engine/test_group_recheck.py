"""Aggregation rules evaluate again only the groups with something new since their last run, and miss nothing:
a late event still completes a burst or a sequence (``detection.engine.Window.recheck``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from detection.models import Alert
from detection.services import rules_run
from tests.detection_engine.conftest import Index, ago, event, make_rule, now

pytestmark = pytest.mark.django_db


def ssh(moment_ago: float, outcome: str, ip: str, arrived_ago: float = 5) -> dict[str, Any]:
    doc = event(ago(moment_ago), event__dataset="system.auth", event__action="ssh_login", event__outcome=outcome,
                source__ip=ip, user__name="root")
    doc["event"]["ingested"] = ago(arrived_ago).isoformat()
    return doc


@dataclass
class GroupReads:
    """The engine's per-group event searches, through the real client: the groups each asked, the events each
    group's search brought back."""

    asked: list[int] = field(default_factory=list)
    read: list[int] = field(default_factory=list)


def group_reads(monkeypatch: pytest.MonkeyPatch) -> GroupReads:
    from detection import engine

    reads = GroupReads()
    real = engine.groups_events

    def counting(es: Elasticsearch, index: str, query: Any, groups: list[Any], *args: Any, **kwargs: Any) -> Any:
        reads.asked.append(len(groups))
        found = real(es, index, query, groups, *args, **kwargs)
        reads.read.extend(len(events) for events in found)
        return found

    monkeypatch.setattr(engine, "groups_events", counting)
    return reads


def test_a_threshold_reads_again_only_the_groups_with_new_events(
        es: Elasticsearch, orgs: None, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = make_rule(name="brute force", kind="threshold", params={
        "query": "event.outcome:failure", "group_by": ["source.ip"], "count": 5, "window_seconds": 120})
    # Five failures from each of two addresses, arrived long before the first run: two bursts.
    index(*[ssh(100 - i, "failure", ip, arrived_ago=90) for i in range(5) for ip in ("198.51.100.1", "198.51.100.2")])
    asked = group_reads(monkeypatch).asked
    t0 = now()
    [first] = rules_run(rule_ids=[rule.pk], now=t0)
    index(*[ssh(3 - i / 10, "failure", "198.51.100.2", arrived_ago=1) for i in range(5)])  # a second burst

    [second] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))

    # The second run reads only the address with new failures, and finds its second burst.
    assert first.alerts == 2 and asked == [2, 1] and second.alerts == 1
    assert sorted(a.group["source.ip"] for a in Alert.objects.all()) == ["198.51.100.1", "198.51.100.2",
                                                                        "198.51.100.2"]


def test_a_late_failure_still_completes_a_success_evaluated_before_it(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="success after failures", kind="sequence", params={
        "first": "event.outcome:failure", "then": "event.outcome:success", "by": ["source.ip"],
        "window_seconds": 300, "first_count": 3})
    ip = "203.0.113.9"
    index(ssh(60, "failure", ip, arrived_ago=90), ssh(50, "failure", ip, arrived_ago=90),
          ssh(40, "success", ip, arrived_ago=90))
    t0 = now()
    [first] = rules_run(rule_ids=[rule.pk], now=t0)
    # The third failure was written before the success but arrives only now (its agent was offline).
    index(ssh(45, "failure", ip, arrived_ago=1))

    [second] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))

    assert first.alerts == 0 and second.alerts == 1


def test_a_sequence_with_nothing_new_reads_no_group_again(
        es: Elasticsearch, orgs: None, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = make_rule(name="success after failures", kind="sequence", params={
        "first": "event.outcome:failure", "then": "event.outcome:success", "by": ["source.ip"],
        "window_seconds": 300, "first_count": 3})
    index(*[ssh(60 - i, "failure", "203.0.113.7", arrived_ago=90) for i in range(3)],
          ssh(40, "success", "203.0.113.7", arrived_ago=90))
    asked = group_reads(monkeypatch).asked
    t0 = now()
    [first] = rules_run(rule_ids=[rule.pk], now=t0)
    [second] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))

    assert first.alerts == 1 and asked[:2] == [1, 1]  # the group's failures and successes, once
    assert second.error == "" and asked[2:] == [0, 0]


def test_a_threshold_group_reads_only_the_events_no_alert_holds_yet(
        es: Elasticsearch, orgs: None, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = make_rule(name="brute force", kind="threshold", params={
        "query": "event.outcome:failure", "group_by": ["source.ip"], "count": 5, "window_seconds": 120})
    ip = "198.51.100.7"
    index(*[ssh(100 - i, "failure", ip, arrived_ago=90) for i in range(8)])  # one burst of eight
    read = group_reads(monkeypatch).read
    t0 = now()
    [first] = rules_run(rule_ids=[rule.pk], now=t0)
    index(*[ssh(3 - i / 10, "failure", ip, arrived_ago=1) for i in range(4)])  # four more: not yet a burst
    [second] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))
    index(ssh(1, "failure", ip, arrived_ago=1))  # the fifth
    [third] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=10))

    # The eight in the first alert are not read again; the later five make the second alert.
    assert read == [8, 4, 5]
    assert (first.alerts, second.alerts, third.alerts) == (1, 0, 1)


def test_a_sequence_reads_only_the_failures_that_can_precede_its_successes(
        es: Elasticsearch, orgs: None, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = make_rule(name="success after failures", kind="sequence", params={
        "first": "event.outcome:failure", "then": "event.outcome:success", "by": ["source.ip"],
        "window_seconds": 60, "first_count": 3})
    ip = "203.0.113.11"
    # Failures all along the look-back, one success at 100 s ago: only the failures of the minute before it count.
    index(*[ssh(400 - 10 * i, "failure", ip, arrived_ago=90) for i in range(40)],
          ssh(100, "success", ip, arrived_ago=90))
    read = group_reads(monkeypatch).read

    [run] = rules_run(rule_ids=[rule.pk], now=now())

    assert run.alerts == 1
    assert read == [1, 7]  # the success; the failures from 160 s (its window's first moment) to 100 s ago
    [alert] = Alert.objects.all()
    assert alert.count == 8


def test_a_sequence_reads_no_address_that_only_fails_or_only_succeeds(
        es: Elasticsearch, orgs: None, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = make_rule(name="success after failures", kind="sequence", params={
        "first": "event.outcome:failure", "then": "event.outcome:success", "by": ["source.ip"],
        "window_seconds": 300, "first_count": 3})
    index(*[ssh(60 - i, "failure", "203.0.113.20") for i in range(10)],  # an attacker that never gets in
          *[ssh(60 - i, "success", "10.20.0.5") for i in range(10)],  # a user who never fails
          *[ssh(50 - i, "failure", "10.20.0.6") for i in range(2)], ssh(40, "success", "10.20.0.6"))  # too few
    asked = group_reads(monkeypatch).asked

    [run] = rules_run(rule_ids=[rule.pk], now=now())

    assert run.error == "" and run.alerts == 0 and asked == [0, 0]


def test_over_its_cap_a_run_alerts_on_a_new_address_first_and_the_known_one_next_run(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="brute force", kind="threshold", max_alerts_per_run=2, params={
        "query": "event.outcome:failure", "group_by": ["source.ip"], "count": 2, "window_seconds": 60})
    known, new = "198.51.100.30", "198.51.100.31"
    index(*[ssh(200 - i, "failure", known, arrived_ago=190) for i in range(2)])
    t0 = now()
    rules_run(rule_ids=[rule.pk], now=t0)  # the known address has its alert and incident
    # Three more bursts of the known address, then the new address's first: the newest finding, but news.
    index(*[ssh(ago_s - i, "failure", known, arrived_ago=1) for ago_s in (170, 100, 30) for i in range(2)],
          *[ssh(10 - i, "failure", new, arrived_ago=1) for i in range(2)])

    [capped] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))
    alerted = sorted(Alert.objects.values_list("entity_value", flat=True))
    [after] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=10))

    assert capped.alerts == 2 and capped.alert_cap_hit and alerted == [known, known, new]
    # The known address's bursts left out were not consumed: the next run alerts on them.
    assert after.alerts == 2 and Alert.objects.filter(entity_value=known).count() == 4


def test_a_wave_on_addresses_with_open_incidents_touches_them_in_one_statement(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Incident

    rule = make_rule(name="brute force", kind="threshold", params={
        "query": "event.outcome:failure", "group_by": ["source.ip"], "count": 2, "window_seconds": 60})
    addresses = [f"198.51.100.{n}" for n in range(40, 45)]
    index(*[ssh(200 - i, "failure", ip, arrived_ago=190) for ip in addresses for i in range(2)])
    t0 = now()
    rules_run(rule_ids=[rule.pk], now=t0)  # an incident each
    index(*[ssh(20 - i, "failure", ip, arrived_ago=1) for ip in addresses for i in range(2)])

    with CaptureQueriesContext(connection) as queries:
        [run] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))

    touches = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "incidents_incident"')
               or q["sql"].startswith("UPDATE incidents_incident")]
    assert run.alerts == 5 and len(touches) == 1
    assert sorted(Incident.objects.values_list("alert_count", flat=True)) == [2] * 5
    assert all(alert.incident_id for alert in Alert.objects.all())
