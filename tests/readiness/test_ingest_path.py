"""Through the real ingest: unparsable lines count as generic, invalid events as dead letters."""

from __future__ import annotations

import pytest
from django.utils import timezone
from elasticsearch import Elasticsearch

from collectors.ingest import ingest_batch
from readiness.services import scorecards_compute
from soc import es as soc_es
from tests.conftest import Cast, EnrolledCollector

pytestmark = pytest.mark.django_db


def sshd_line_now() -> str:
    """A failed login stamped now, in the source time zone the parser assumes (the local one)."""
    t = timezone.localtime()
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S} web01 sshd[4242]: Failed password for root from 203.0.113.9 port 52113 ssh2"


def test_the_scorecard_counts_what_the_ingest_stored_and_rejected(es: Elasticsearch, cast: Cast,
                                                                  hni_collector: EnrolledCollector) -> None:
    stamp = timezone.now().isoformat()
    results = ingest_batch(collector=hni_collector.collector, payload={"events": [
        {"id": "f:1", "raw": sshd_line_now()},
        {"id": "f:2", "raw": "%%% not a log line anyone parses %%%"},
        {"id": "f:3", "doc": {"@timestamp": "yesterday-ish", "message": "bad time"}},
        {"id": "f:4", "doc": {"@timestamp": stamp, "source": {"ip": "not-an-ip"}}},
    ]})
    es.indices.refresh(index=f"{soc_es.index_pattern('events')},{soc_es.index_pattern('deadletter')}")
    assert [r.status for r in results] == ["created", "created", "rejected", "rejected"]

    [card] = scorecards_compute(day=timezone.localdate(), provinces=[cast.hni])
    correct = card.measures["correct"]

    assert (correct["events"], correct["generic"], correct["deadletters"]) == (2, 1, 2)
    assert card.measures["sufficient"]["kinds"]["authentication"] == {"events": 1, "complete": 1, "share": 1.0}
    assert card.measures["connected"]["collectors"][0]["name"] == "HNI-WEB-01"


def test_gap_reports_of_a_collector_count_as_dropped_events(es: Elasticsearch, cast: Cast,
                                                            hni_collector: EnrolledCollector) -> None:
    now = timezone.now().isoformat()
    gap = {"@timestamp": now, "message": "collector spool full: 120 events dropped before sending",
           "event": {"kind": "event", "dataset": "soc.collector", "action": "events-dropped", "count": 120}}
    ingest_batch(collector=hni_collector.collector, payload={"events": [
        {"id": "gap:seg1:1", "doc": gap}, {"id": "f:1", "raw": sshd_line_now()}]})
    es.indices.refresh(index=soc_es.index_pattern("events"))

    [card] = scorecards_compute(day=timezone.localdate(), provinces=[cast.hni])
    live = card.measures["live"]

    assert (live["gaps_reported"], live["events_dropped"]) == (1, 120)
    assert live["kept_share"] == pytest.approx(2 / 122)
    assert "collectors dropped 120 events in 1 gaps (spool full): enlarge the spool or the link" in [
        a["text"] for a in card.actions]
    assert [s["dataset"] for s in live["sources"]] == ["system.auth"]


def test_resends_of_stored_events_are_counted_as_the_duplicate_ratio(es: Elasticsearch, cast: Cast,
                                                                      hni_collector: EnrolledCollector) -> None:
    first = [{"id": f"d:{n}", "raw": sshd_line_now()} for n in range(4)]
    ingest_batch(collector=hni_collector.collector, payload={"events": first})
    again = ingest_batch(collector=hni_collector.collector, payload={"events": [*first[:2], {"id": "d:9",
                                                                                             "raw": sshd_line_now()}]})
    es.indices.refresh(index=f"{soc_es.index_pattern('events')},{soc_es.index_pattern(soc_es.INGEST_STATS)}")

    [card] = scorecards_compute(day=timezone.localdate(), provinces=[cast.hni])
    clean = card.measures["clean"]

    assert [r.status for r in again] == ["duplicate", "duplicate", "created"]
    assert es.count(index=soc_es.index_pattern("events"))["count"] == 5
    assert (clean["duplicates"], clean["duplicate_ratio"]) == (2, pytest.approx(2 / 7))
    assert "2 events (29%) were sent again although already stored: collectors are not getting answers in time; " \
           "check their link and timeouts" in [a["text"] for a in card.actions]


def test_resends_in_another_province_do_not_count_here(es: Elasticsearch, cast: Cast,
                                                       hni_collector: EnrolledCollector) -> None:
    batch = {"events": [{"id": "d:1", "raw": sshd_line_now()}]}
    ingest_batch(collector=hni_collector.collector, payload=batch)
    ingest_batch(collector=hni_collector.collector, payload=batch)
    es.indices.refresh(index=f"{soc_es.index_pattern('events')},{soc_es.index_pattern(soc_es.INGEST_STATS)}")

    hni, hcm = scorecards_compute(day=timezone.localdate(), provinces=[cast.hni, cast.hcm])

    assert hni.measures["clean"]["duplicates"] == 1 and hcm.measures["clean"]["duplicates"] == 0
