"""Sigma correlations honour the ingest-time option: late-arriving events are correlated on when they were stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from detection.authoring import rule_test_run
from detection.models import Alert, DetectionRule
from detection.services import rules_run
from tests.detection_engine.conftest import Index, ago, event, make_rule, now
from tests.detection_engine.test_kinds import CORRELATION

pytestmark = pytest.mark.django_db


def failure(stamped_ago: float, user: str, ingested_ago: float = 5, ip: str = "203.0.113.5") -> dict[str, Any]:
    return event(ago(stamped_ago), event__dataset="system.auth", event__action="ssh_login", event__outcome="failure",
                 event__ingested=ago(ingested_ago).isoformat(), source__ip=ip, user__name=user, process__name="sshd",
                 message=f"Failed password for {user} from {ip}")


def correlation(name: str, **extra: Any) -> DetectionRule:
    return make_rule(name=name, kind="sigma", params={"yaml": CORRELATION}, **extra)


def test_failures_from_a_host_whose_clock_is_hours_behind_are_correlated_on_ingest_time(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    on_event_time, on_ingest_time = correlation("event time"), correlation("ingest time", use_ingest_time=True)
    index(*[failure(3 * 3600 + i, f"u{i}") for i in range(3)])  # stamped three hours ago, stored just now

    runs = {run.rule_id: run for run in rules_run(rule_ids=[on_event_time.pk, on_ingest_time.pk])}

    assert runs[on_event_time.pk].error == runs[on_ingest_time.pk].error == ""
    assert runs[on_event_time.pk].alerts == 0
    assert runs[on_ingest_time.pk].alerts == 1
    assert Alert.objects.get().rule_id == on_ingest_time.pk


def test_the_correlation_window_spans_ingest_time_not_the_events_own_clock(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    """Stamped an hour apart (never within 5 minutes of each other) but delivered together: one burst on arrival."""
    on_event_time, on_ingest_time = correlation("event time"), correlation("ingest time", use_ingest_time=True)
    index(*[failure(3600 * (i + 1), f"u{i}", ingested_ago=10 + i) for i in range(3)])
    t0 = now()

    by_event = rule_test_run(rule=on_event_time, start=t0 - timedelta(hours=4), end=t0)
    by_ingest = rule_test_run(rule=on_ingest_time, start=t0 - timedelta(hours=4), end=t0)

    assert by_event["error"] == by_ingest["error"] == ""
    assert by_event["would_alert"] == 0
    assert by_ingest["would_alert"] == 1
    assert by_ingest["findings"][0]["group"]["organization.id"] == "HNI"


def test_a_late_batch_caught_on_ingest_time_is_not_alerted_twice_by_the_next_run(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = correlation("ingest time", use_ingest_time=True)
    t0 = now()
    [before] = rules_run(rule_ids=[rule.pk], now=t0)
    index(*[failure(2 * 3600 + i, f"u{i}", ingested_ago=3) for i in range(3)])  # arrives after the first run

    [caught] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))
    [again] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=10))

    assert (before.alerts, caught.alerts, again.alerts) == (0, 1, 0)
    assert Alert.objects.count() == 1
