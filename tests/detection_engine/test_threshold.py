"""Threshold rules: sliding windows, one incident per entity, no twin alerts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from elasticsearch import Elasticsearch

from detection.engine import ThresholdParams, find_bursts
from detection.models import DetectionRule, RuleKind
from detection.services import rule_run
from incidents.models import Incident
from soc import es as soc_es
from soc.management.commands.seed_demo import SSH_BRUTE_FORCE
from tests.conftest import Cast

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
PARAMS = ThresholdParams.from_dict({"query": "*", "group_by": ["source.ip"], "count": 5, "window_seconds": 300})


def at(*seconds: int) -> list[tuple[datetime, str]]:
    return [(T0 + timedelta(seconds=s), f"e{s}") for s in seconds]


def test_a_burst_straddling_a_bucket_boundary_is_found() -> None:
    # 01:04:00 .. 01:06:00: a fixed 5-minute bucket would split it 3 + 2.
    [burst] = find_bursts(at(240, 270, 290, 310, 360), PARAMS, {"source.ip": "x"}, None)

    assert burst.count == 5 and burst.first == T0 + timedelta(seconds=240)


def test_events_spread_wider_than_the_window_do_not_fire() -> None:
    assert find_bursts(at(0, 100, 200, 300, 400, 500), PARAMS, {}, None) == []


def test_consumed_events_never_make_a_second_burst() -> None:
    events = at(0, 10, 20, 30, 40, 50, 60)
    [first] = find_bursts(events, PARAMS, {}, None)

    assert first.count == 7
    assert find_bursts(events, PARAMS, {}, first.last) == []


def test_bad_parameters_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="group_by"):
        ThresholdParams.from_dict({"count": 5, "window_seconds": 60})


def index_failures(es: Elasticsearch, org: str, ip: str, moments: list[datetime]) -> None:
    ops: list[dict[str, Any]] = []
    for n, moment in enumerate(moments):
        ops += [{"create": {"_index": soc_es.index_name("events", moment), "_id": f"{org}-{ip}-{n}"}},
                {"@timestamp": moment.isoformat(), "organization": {"id": org}, "source": {"ip": ip},
                 "event": {"dataset": "system.auth", "outcome": "failure", "action": "ssh_login"}}]
    es.bulk(operations=ops, refresh=True)


@pytest.fixture
def rule(cast: Cast) -> DetectionRule:
    return DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params=SSH_BRUTE_FORCE,
                                        severity="high", category="intrusion_attempts", interval_seconds=5)


@pytest.mark.django_db
def test_five_failures_open_one_incident_for_the_province_not_one_per_run(
        es: Elasticsearch, cast: Cast, rule: DetectionRule) -> None:
    now = datetime.now(UTC)
    index_failures(es, "HNI", "198.51.100.7", [now - timedelta(seconds=60 - i) for i in range(6)])

    first = rule_run(rule_id=rule.pk, now=now)
    second = rule_run(rule_id=rule.pk, now=now + timedelta(seconds=5))

    assert first is not None and first.alerts == 1 and first.error == ""
    assert second is not None and second.alerts == 0
    [incident] = Incident.objects.all()
    assert incident.province == cast.hni
    assert incident.key.startswith(f"HNI-{now.astimezone().year}-")
    assert "198.51.100.7" in incident.title and incident.severity == "high"


@pytest.mark.django_db
def test_four_failures_are_not_an_attack(es: Elasticsearch, cast: Cast, rule: DetectionRule) -> None:
    now = datetime.now(UTC)
    index_failures(es, "HNI", "198.51.100.8", [now - timedelta(seconds=30 - i) for i in range(4)])

    run = rule_run(rule_id=rule.pk, now=now)

    assert run is not None and run.alerts == 0 and not Incident.objects.exists()


@pytest.mark.django_db
def test_the_same_attacker_in_two_provinces_is_two_incidents(
        es: Elasticsearch, cast: Cast, rule: DetectionRule) -> None:
    now = datetime.now(UTC)
    for org in ("HNI", "HCM"):
        index_failures(es, org, "198.51.100.9", [now - timedelta(seconds=40 - i) for i in range(5)])

    rule_run(rule_id=rule.pk, now=now)

    assert sorted(Incident.objects.values_list("province__code", flat=True)) == ["HCM", "HNI"]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_make_one_incident(es: Elasticsearch, cast: Cast, rule: DetectionRule) -> None:
    now = datetime.now(UTC)
    index_failures(es, "HNI", "198.51.100.10", [now - timedelta(seconds=50 - i) for i in range(8)])
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            rule_run(rule_id=rule.pk, now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Incident.objects.count() == 1
    es.indices.refresh(index=f"{settings.ES_INDEX_PREFIX}alerts-*")
    assert es.count(index=f"{settings.ES_INDEX_PREFIX}alerts-*")["count"] == 1
