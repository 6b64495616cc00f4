"""Windows, checkpoints and failures: late events caught, gaps shown, broken rules contained, no twins."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from elasticsearch import Elasticsearch

from detection.models import Alert, DetectionRule
from detection.services import BACKFILL_CAP, rules_run
from soc import es as soc_es
from tests.detection_engine.conftest import Index, ago, event, make_rule, now

WHOAMI = """
title: whoami
logsource: {product: windows, category: process_creation}
detection:
    sel: {Image|endswith: '\\whoami.exe'}
    condition: sel
"""


def whoami(moment_ago: float, host: str = "ws1") -> dict[str, Any]:
    return event(ago(moment_ago), winlog__channel="Microsoft-Windows-Sysmon/Operational", event__code="1",
                 winlog__event_data__Image=r"C:\Windows\System32\WHOAMI.EXE", host__name=host)


def sigma_rule(name: str = "whoami", **extra: Any) -> DetectionRule:
    return make_rule(name=name, kind="sigma", params={"yaml": WHOAMI}, **extra)


@pytest.mark.django_db
def test_an_event_two_minutes_old_that_arrives_late_is_still_detected(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = sigma_rule()
    t0 = now()
    [first] = rules_run(rule_ids=[rule.pk], now=t0)
    index(whoami(120))  # stamped two minutes ago, stored only now: behind the checkpoint

    [second] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))

    assert first.alerts == 0 and second.alerts == 1


@pytest.mark.django_db
def test_a_missed_stretch_is_recorded_as_a_gap_and_back_filled_in_capped_steps(orgs: None, es: Elasticsearch) -> None:
    rule = sigma_rule()
    t0 = now()
    DetectionRule.objects.filter(pk=rule.pk).update(checkpoint=t0 - timedelta(hours=3))

    [run] = rules_run(rule_ids=[rule.pk], now=t0)
    rule.refresh_from_db()

    assert run.gap_seconds > 2 * 3600 and run.backfill_capped
    assert rule.checkpoint == t0 - timedelta(hours=3) + BACKFILL_CAP and rule.next_run_at == t0


@pytest.mark.django_db
def test_a_broken_rule_records_its_error_and_backs_off_without_stopping_the_others(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    good, bad = sigma_rule("good"), sigma_rule("bad")
    DetectionRule.objects.filter(pk=bad.pk).update(compiled={"query": {"query_string": {"query": "a:(("}}})
    index(whoami(20))
    t0 = now()

    runs = {run.rule_id: run for run in rules_run(rule_ids=[good.pk, bad.pk], now=t0)}
    bad.refresh_from_db()

    assert runs[good.pk].alerts == 1 and runs[good.pk].error == ""
    assert "search failed" in runs[bad.pk].error and bad.consecutive_errors == 1
    assert bad.checkpoint is None and bad.next_run_at is not None and bad.next_run_at > t0 + timedelta(seconds=5)


@pytest.mark.django_db
def test_the_alert_cap_of_a_run_is_reported_when_hit(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = sigma_rule(max_alerts_per_run=2)
    index(*[whoami(30 - i, host=f"ws{i}") for i in range(5)])

    [run] = rules_run(rule_ids=[rule.pk])

    assert run.alerts == 2 and run.alert_cap_hit and "3 more not alerted" in run.error


@pytest.mark.django_db
def test_many_search_rules_share_one_msearch(
        es: Elasticsearch, orgs: None, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = [sigma_rule(f"whoami {n}") for n in range(5)]
    index(whoami(20))
    calls = []
    real = Elasticsearch.msearch

    def counting(self: Elasticsearch, **kwargs: Any) -> Any:
        calls.append(len(kwargs["searches"]) // 2)
        return real(self, **kwargs)

    monkeypatch.setattr(Elasticsearch, "msearch", counting)  # on the class: rule runs use their own client options
    runs = rules_run(rule_ids=[r.pk for r in rules])

    # One probe for their shared log source (Sysmon/Security process creation), then one search for all five.
    assert calls == [1, 5] and [r.alerts for r in runs] == [1] * 5


@pytest.mark.django_db
def test_rules_whose_log_source_sent_nothing_are_answered_by_one_probe(
        es: Elasticsearch, orgs: None, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = [sigma_rule(f"whoami {n}") for n in range(5)]
    # A Linux event in the window: the Windows rules' process-creation source sent nothing.
    index(event(ago(20), event__dataset="sshd", message=r"C:\Windows\System32\whoami.exe"))
    calls = []
    real = Elasticsearch.msearch

    def counting(self: Elasticsearch, **kwargs: Any) -> Any:
        calls.append(len(kwargs["searches"]) // 2)
        return real(self, **kwargs)

    monkeypatch.setattr(Elasticsearch, "msearch", counting)
    t0 = now()
    runs = rules_run(rule_ids=[r.pk for r in rules], now=t0)

    assert calls == [1] and not any(r.error or r.hits for r in runs)
    assert all(r.checkpoint == t0 - timedelta(seconds=r.delay_seconds) for r in DetectionRule.objects.all())

    index(whoami(1))  # now the source speaks: the same rules are searched and alert
    later = rules_run(rule_ids=[r.pk for r in rules], now=t0 + timedelta(seconds=10))
    assert calls == [1, 1, 5] and [r.alerts for r in later] == [1] * 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("kind", "expected"), [("sigma", 2), ("new_term", 1), ("sequence", 1)])
def test_two_schedulers_at_once_make_each_alert_once(
        es: Elasticsearch, orgs: None, index: Index, kind: str, expected: int) -> None:
    params = {
        "sigma": {"yaml": WHOAMI},
        "new_term": {"fields": ["host.name"], "history_days": 1},
        "sequence": {"first": "event.code:1", "then": "event.code:1", "by": ["host.name"], "window_seconds": 60,
                     "first_count": 2},
    }[kind]
    rule = make_rule(name=kind, kind=kind, params=params)
    index(whoami(30), whoami(20))
    barrier, t0 = threading.Barrier(2), now()

    def run() -> None:
        barrier.wait()
        try:
            rules_run(rule_ids=[rule.pk], now=t0)
            rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=1))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Alert.objects.count() == expected
    es.indices.refresh(index=soc_es.index_pattern("alerts"))
    assert es.count(index=soc_es.index_pattern("alerts"))["count"] == expected


@pytest.mark.django_db
def test_a_rule_on_ingest_time_catches_events_whose_own_clock_is_hours_behind(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    on_event_time, on_ingest_time = sigma_rule("event time"), sigma_rule("ingest time", use_ingest_time=True)
    index(whoami(3 * 3600))  # a host whose clock is three hours late, shipped just now

    runs = {run.rule_id: run for run in rules_run(rule_ids=[on_event_time.pk, on_ingest_time.pk])}

    assert runs[on_event_time.pk].alerts == 0 and runs[on_ingest_time.pk].alerts == 1


@pytest.mark.django_db
def test_a_rule_is_due_again_at_the_next_tick_of_its_interval_even_if_its_run_started_late(orgs: None) -> None:
    from detection.services import due_rule_ids

    rule = sigma_rule(interval_seconds=5)
    tick = now()
    rules_run(rule_ids=[rule.pk], now=tick + timedelta(milliseconds=700))  # queued 0.7 s after its tick

    assert rule.pk in due_rule_ids(now=tick + timedelta(seconds=5))


@pytest.mark.django_db
def test_a_run_that_started_seconds_after_its_tick_is_due_again_at_the_next_tick(orgs: None) -> None:
    from detection.services import due_rule_ids

    rule = sigma_rule(interval_seconds=5)
    tick = now()
    rules_run(rule_ids=[rule.pk], now=tick + timedelta(seconds=3), tick=tick)  # its batch waited 3 s behind others

    assert rule.pk in due_rule_ids(now=tick + timedelta(seconds=5))

    # Found due at 5 s, it started at 11 s, after a cycle that overran: due again a slot after it started.
    rules_run(rule_ids=[rule.pk], now=tick + timedelta(seconds=11), tick=tick + timedelta(seconds=5))

    assert rule.pk not in due_rule_ids(now=tick + timedelta(seconds=14))
    assert rule.pk in due_rule_ids(now=tick + timedelta(seconds=15))


@pytest.mark.django_db
def test_aggregation_rules_run_alone_and_first_and_search_rules_fifty_to_a_batch(orgs: None) -> None:
    from detection.services import due_batches

    sigmas = [sigma_rule(f"whoami {n}") for n in range(51)]
    # Neighbouring ids, as the starter pack's are: batched together, one worker would run them one after another.
    brute = make_rule(name="brute", kind="threshold", params={"query": "event.outcome:failure",
                                                                 "group_by": ["source.ip"], "count": 5,
                                                                 "window_seconds": 60})
    late = make_rule(name="late", kind="threshold", params={"query": "event.outcome:failure",
                                                               "group_by": ["user.name"], "count": 5,
                                                               "window_seconds": 60})
    DetectionRule.objects.filter(pk=late.pk).update(enabled=False)

    batches = due_batches(now=now())

    assert batches[0] == [brute.pk]
    assert sorted(len(batch) for batch in batches[1:]) == [1, 50]
    assert sorted(i for batch in batches[1:] for i in batch) == [rule.pk for rule in sigmas]


@pytest.mark.parametrize(("cost_ms", "seconds"), [(0, 4), (300, 4), (2_000, 20), (100_000, 48)])
def test_a_rule_whose_search_costs_more_than_its_share_runs_less_often(cost_ms: int, seconds: int) -> None:
    from detection.services import _run_slot

    # 5 s interval (less the 1 s slack for a late tick); a tenth of its time searching at most; 12 slots apart at most.
    assert _run_slot(DetectionRule(interval_seconds=5, kind="sigma"), cost_ms) == timedelta(seconds=seconds)
    # A threshold over every source address costs more during an attack, when it must keep its pace.
    assert _run_slot(DetectionRule(interval_seconds=5, kind="threshold"), cost_ms) == timedelta(seconds=4)


@pytest.mark.django_db
def test_an_expensive_search_pushes_back_only_its_own_rule(es: Elasticsearch, orgs: None, index: Index) -> None:
    cheap, costly = sigma_rule("cheap"), sigma_rule("costly")
    index(whoami(20))
    t0 = now()
    from detection import services

    real = services._read_responses

    def slower(client: Elasticsearch, searches: Any, outcomes: Any, time_fields: Any) -> None:
        real(client, searches, outcomes, time_fields)
        for n, _, _ in searches:
            if n == 1:
                outcomes[n].cost_ms = 3_000  # as Elasticsearch's "took" of a ~1,000-wildcard search
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_read_responses", slower)
        rules_run(rule_ids=[cheap.pk, costly.pk], now=t0)

    cheap.refresh_from_db()
    costly.refresh_from_db()
    assert cheap.next_run_at == t0 + timedelta(seconds=4) and costly.next_run_at == t0 + timedelta(seconds=30)
    assert costly.last_duration_ms >= 3_000 and cheap.last_duration_ms < 3_000


def arrived(doc: dict[str, Any], moment_ago: float) -> dict[str, Any]:
    doc["event"]["ingested"] = ago(moment_ago).isoformat()
    return doc


@pytest.mark.django_db
def test_the_look_back_re_reads_only_what_arrived_since_the_last_run(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = sigma_rule()
    index(arrived(whoami(110), 100))
    t0 = now()
    [first] = rules_run(rule_ids=[rule.pk], now=t0)
    # The same event is still inside the next window's look-back, but it arrived more than the slack (60 s)
    # before the last run's end, and is dated before it: that run read it.
    [second] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))
    index(arrived(whoami(60, host="ws2"), 1))  # an agent that was offline: dated a minute ago, arrived now
    [third] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=10))

    assert (first.hits, first.alerts) == (1, 1) and second.hits == 0 and (third.hits, third.alerts) == (1, 1)


@pytest.mark.django_db
def test_an_event_dated_after_the_last_run_is_read_when_its_time_comes_however_long_ago_it_arrived(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = sigma_rule()
    t0 = now()
    rules_run(rule_ids=[rule.pk], now=t0 - timedelta(seconds=600))
    # Arrived ten minutes ago (long before the slack) but dated within the last minute: after the last run's end.
    index(arrived(whoami(50), 600))

    [run] = rules_run(rule_ids=[rule.pk], now=t0)

    assert (run.hits, run.alerts) == (1, 1)


@pytest.mark.django_db
def test_an_agent_back_after_hours_offline_is_detected_as_its_events_arrive(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = sigma_rule()
    t0 = now()
    rules_run(rule_ids=[rule.pk], now=t0)
    index(arrived(whoami(5 * 3600, host="laptop-7"), 1),  # written five hours ago, shipped on reconnecting
          arrived(whoami(2 * 86400, host="backdated-1"), 1))  # or dated two days back by a hostile sender

    [run] = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))

    assert (run.hits, run.alerts) == (2, 2)
    assert sorted(a.group["host.name"] for a in Alert.objects.all()) == ["backdated-1", "laptop-7"]
