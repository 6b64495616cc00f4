"""Sliding-window correlations against real Elasticsearch with synthetic sshd events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from detection.sigma import CorrelationSpec, convert_rule, evaluate_correlation

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
RULES = """
title: failed ssh login
name: failed
logsource: {product: linux, service: sshd}
detection:
    sel: ['Failed password']
    condition: sel
---
title: accepted ssh login
name: accepted
logsource: {product: linux, service: sshd}
detection:
    sel: ['Accepted password']
    condition: sel
---
"""


def correlation(body: str) -> CorrelationSpec:
    rule = convert_rule(RULES + "title: correlation\ncorrelation:\n" + body)
    assert rule.ok and rule.correlation is not None, rule.problems
    return rule.correlation


def ssh(minute: float, ip: str, outcome: str = "Failed", user: str = "root") -> dict[str, Any]:
    return {"@timestamp": (T0 + timedelta(minutes=minute)).isoformat(), "process": {"name": "sshd"},
            "event": {"dataset": "system.auth"}, "source": {"ip": ip}, "user": {"name": user},
            "message": f"{outcome} password for {user} from {ip} port 52144 ssh2"}


def run(es: Any, index: str, spec: CorrelationSpec) -> list[Any]:
    return evaluate_correlation(es, index, spec, T0, T0 + timedelta(hours=1))


BRUTE_FORCE = "  type: event_count\n  rules: [failed]\n  group-by: [SourceIp]\n  timespan: 5m\n" \
              "  condition: {gte: 5}\n"


def test_a_burst_straddling_a_fixed_bucket_boundary_is_found(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str]
) -> None:
    # 3 failures before 10:05 and 2 after: fixed 5-minute buckets see 3 + 2, never 5.
    index = event_index([ssh(m, "10.0.0.1") for m in (3.0, 3.5, 4.5, 5.3, 6.0)])
    [match] = run(es, index, correlation(BRUTE_FORCE))
    assert match.group == {"SourceIp": "10.0.0.1"}
    assert match.count == 5 and match.rule_counts == {"failed": 5}
    assert (match.window_start, match.window_end) == (T0 + timedelta(minutes=3), T0 + timedelta(minutes=6))


def test_just_below_the_threshold_does_not_fire(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str]
) -> None:
    # Five failures, but never five within any 5 minutes; plus another address with four.
    events = [ssh(m, "10.0.0.1") for m in (0, 1, 2, 3, 8)] + [ssh(m, "10.0.0.2") for m in (0, 1, 2, 3)]
    assert run(es, index := event_index(events), correlation(BRUTE_FORCE)) == []
    assert run(es, index, correlation(BRUTE_FORCE.replace("gte: 5", "gte: 4"))) != []


def test_value_count_counts_distinct_users_per_address(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str]
) -> None:
    spray = [ssh(m, "10.0.0.3", user=u) for m, u in ((1, "a"), (2, "b"), (3, "c"), (3.5, "a"))]
    same_user = [ssh(m, "10.0.0.4", user="root") for m in range(6)]
    spec = correlation("  type: value_count\n  rules: [failed]\n  group-by: [SourceIp]\n"
                       "  timespan: 10m\n  condition: {gte: 3, field: User}\n")
    [match] = run(es, event_index(spray + same_user), spec)
    assert (match.group, match.count) == ({"SourceIp": "10.0.0.3"}, 3)


def test_temporal_ordered_respects_the_order(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str]
) -> None:
    events = [ssh(1, "10.0.0.5"), ssh(2, "10.0.0.5", "Accepted"),  # failure then success
              ssh(1, "10.0.0.6", "Accepted"), ssh(2, "10.0.0.6")]  # success then failure
    index = event_index(events)
    ordered = ("  type: temporal_ordered\n  rules: [failed, accepted]\n  group-by: [SourceIp]\n"
               "  timespan: 5m\n")
    [match] = run(es, index, correlation(ordered))
    assert match.group == {"SourceIp": "10.0.0.5"}
    assert match.rule_counts == {"failed": 1, "accepted": 1}
    unordered = run(es, index, correlation(ordered.replace("temporal_ordered", "temporal")))
    assert sorted(m.group["SourceIp"] for m in unordered) == ["10.0.0.5", "10.0.0.6"]


def test_temporal_needs_every_rule_inside_the_timespan(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str]
) -> None:
    index = event_index([ssh(1, "10.0.0.7"), ssh(7, "10.0.0.7", "Accepted")])
    spec = correlation("  type: temporal\n  rules: [failed, accepted]\n  group-by: [SourceIp]\n"
                       "  timespan: 5m\n")
    assert run(es, index, spec) == []


def test_new_since_drops_windows_a_previous_run_reported(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str]
) -> None:
    index = event_index([ssh(m, "10.0.0.1") for m in (3.0, 3.5, 4.5, 5.3, 6.0)])
    spec = correlation(BRUTE_FORCE)
    checkpoint = T0 + timedelta(minutes=7)
    later = evaluate_correlation(es, index, spec, T0, T0 + timedelta(hours=1), new_since=checkpoint)
    assert later == []
