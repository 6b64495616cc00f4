"""History replayed into the platform is detected by arrival and evaluated on its own time, and its progress shows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from elasticsearch import Elasticsearch

from detection.models import Alert, DetectionRule, RuleRun
from detection.services import rules_run
from soc import es as soc_es
from tests.conftest import Cast
from tests.detection_engine.conftest import ago, event, make_rule, now
from tests.detection_engine.test_scheduling import WHOAMI

pytestmark = pytest.mark.django_db
_ids = itertools.count()
OLD = datetime(2019, 3, 14, 9, 26, 53, tzinfo=UTC)
COLLECTOR = "4f5e6d7c-0000-4000-8000-00000000a11e"
FAILURES = {"query": "event.outcome:failure", "group_by": ["source.ip"], "count": 3, "window_seconds": 120}


def backfilled(moment: datetime, arrived_ago: float = 60, **fields: Any) -> dict[str, Any]:
    doc = event(moment, **fields)
    doc["event"]["ingested"] = ago(arrived_ago).isoformat()
    doc["soc"] = {"backfill": True}
    doc["agent"] = {"id": COLLECTOR, "name": "HNI-REPLAY", "type": "soc-collector"}
    return doc


def store_backfill(es: Elasticsearch, *docs: dict[str, Any]) -> list[str]:
    """As the ingest stores history: in the arrival month's back-fill index, under ``<collector uid>:<id>``."""
    arrival = now()
    index, ops, refs = soc_es.backfill_index_name(arrival.year, arrival.month), [], []
    for doc in docs:
        doc_id = f"{COLLECTOR}:b{next(_ids)}"
        ops += [{"create": {"_index": index, "_id": doc_id}}, doc]
        refs.append(f"{index}/{doc_id}")
    assert not es.bulk(operations=ops, refresh=True)["errors"]
    return refs


def whoami(moment: datetime, arrived_ago: float = 60) -> dict[str, Any]:
    return backfilled(moment, arrived_ago, winlog__channel="Microsoft-Windows-Sysmon/Operational", event__code="1",
                      winlog__event_data__Image=r"C:\Windows\System32\whoami.exe", host__name="ws7")


def test_a_replayed_event_from_years_ago_alerts_on_its_own_time_once(es: Elasticsearch, orgs: None) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    [ref] = store_backfill(es, whoami(OLD))
    t0 = now()

    first = rules_run(rule_ids=[rule.pk], now=t0)
    again = rules_run(rule_ids=[rule.pk], now=t0 + timedelta(seconds=5))

    [alert] = Alert.objects.all()
    assert alert.first_seen == OLD and alert.event_refs == [ref] and alert.incident is not None
    assert [(r.backfill_pass, r.alerts) for r in first] == [(False, 0), (True, 1)]
    assert [r.backfill_pass for r in again] == [False]  # nothing new arrived: no back-fill pass, no run row
    rule.refresh_from_db()
    assert rule.backfill_checkpoint is not None and rule.backfill_checkpoint > ago(120)


def test_history_that_arrives_later_is_read_by_the_next_run(es: Elasticsearch, orgs: None) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    t0 = now()
    rules_run(rule_ids=[rule.pk], now=t0 - timedelta(minutes=10))
    store_backfill(es, whoami(OLD, arrived_ago=120))  # arrived after that run's back-fill bound

    runs = rules_run(rule_ids=[rule.pk], now=t0)

    assert [r.alerts for r in runs if r.backfill_pass] == [1]


def test_a_threshold_counts_replayed_failures_within_their_own_window_not_their_arrival(
        es: Elasticsearch, orgs: None) -> None:
    rule = make_rule(name="brute", kind="threshold", params=FAILURES)
    burst = [backfilled(OLD + timedelta(seconds=i), event__outcome="failure", source__ip="198.51.100.7")
             for i in range(3)]
    # Arrived together, but a day apart in their own time: not a burst.
    spread = [backfilled(OLD + timedelta(days=i), event__outcome="failure", source__ip="198.51.100.8")
              for i in range(3)]
    store_backfill(es, *burst, *spread)

    rules_run(rule_ids=[rule.pk])

    [alert] = Alert.objects.all()
    assert alert.group["source.ip"] == "198.51.100.7" and alert.first_seen == OLD and alert.count == 3


def test_new_term_and_silence_rules_skip_history(es: Elasticsearch, orgs: None) -> None:
    rule = make_rule(name="new host", kind="new_term", params={"fields": ["host.name"], "history_days": 1})
    store_backfill(es, whoami(OLD))

    runs = rules_run(rule_ids=[rule.pk])

    assert [r.backfill_pass for r in runs] == [False] and not Alert.objects.exists()


def test_the_rules_page_shows_a_backfills_progress_and_what_fired(
        es: Elasticsearch, cast: Cast) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    make_rule(name="off", kind="sigma", params={"yaml": WHOAMI}, enabled=False)
    store_backfill(es, whoami(OLD), whoami(OLD + timedelta(days=400)))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cast.analyst)

    before = client.get("/rules/").content.decode()
    rules_run(rule_ids=[rule.pk])
    after = client.get("/rules/").content.decode()
    elsewhere = Client(HTTP_ACCEPT_LANGUAGE="en")
    elsewhere.force_login(cast.hcm_responder)

    assert f'data-collector="{COLLECTOR}"' in before and '<td class="progress">0 / 1</td>' in before
    assert '<td class="events">2</td>' in after and "1 / 1 · done" in after and '<td class="alerts">2</td>' in after
    assert "2019-03-14 \u2013 2020-04-17" in after
    assert COLLECTOR not in elsewhere.get("/rules/").content.decode()


def test_only_rule_runs_with_history_to_read_write_a_backfill_row(es: Elasticsearch, orgs: None) -> None:
    rules = [make_rule(name=f"whoami {n}", kind="sigma", params={"yaml": WHOAMI}) for n in range(3)]

    rules_run(rule_ids=[r.pk for r in rules])

    assert not RuleRun.objects.filter(backfill_pass=True).exists()
    assert DetectionRule.objects.filter(backfill_checkpoint__isnull=True).count() == 0
