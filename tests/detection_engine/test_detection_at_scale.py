"""Detection that holds thousands of rules: bounded searches, timeouts that show, edits that never collide."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from elasticsearch import ConnectionTimeout, Elasticsearch

from detection.authoring import rule_update
from detection.models import DetectionRule, RuleVersion
from detection.services import rules_run
from organisations.actors import Actor
from soc import es as soc_es
from tests.conftest import Cast
from tests.detection_engine.conftest import make_rule
from tests.detection_engine.test_scheduling import WHOAMI

NOW = datetime.now(UTC)


def names(indices: str) -> list[str]:
    return [name.removeprefix(settings.ES_INDEX_PREFIX) for name in indices.split(",")]


def test_a_recent_window_searches_only_its_own_days() -> None:
    start = datetime(2026, 3, 1, 23, 58, tzinfo=UTC)

    indices = soc_es.event_indices(start=start, end=start + timedelta(minutes=5))

    assert names(indices)[:2] == ["events-2026.03.01", "events-2026.03.02"] and len(names(indices)) == 3
    assert names(indices)[2] == "events-backfill-*"  # 2026-03-01 is further back than the live days


def test_a_window_within_the_live_days_leaves_backfill_out() -> None:
    indices = soc_es.event_indices(start=NOW - timedelta(hours=1), end=NOW)

    assert "backfill" not in indices and len(indices.split(",")) in (1, 2)


def test_an_ingest_time_window_adds_the_live_days_before_it_and_its_arrival_months_backfill() -> None:
    end = datetime(2026, 3, 1, 0, 5, tzinfo=UTC)

    indices = names(soc_es.event_indices(start=end - timedelta(minutes=10), end=end, time_field="event.ingested"))

    assert indices[0] == "events-2026.02.24" and "events-2026.03.02" in indices
    assert indices[-2:] == ["events-backfill-2026.02", "events-backfill-2026.03"]


def test_a_window_of_months_falls_back_to_the_pattern() -> None:
    assert soc_es.event_indices(start=NOW - timedelta(days=90), end=NOW) == soc_es.events_pattern()


@pytest.mark.django_db
def test_a_batch_that_times_out_is_recorded_on_every_rule_and_on_the_rules_page_and_healthz(
        es: Elasticsearch, cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = [make_rule(name=f"whoami {n}", kind="sigma", params={"yaml": WHOAMI}) for n in range(2)]

    def slow(self: Elasticsearch, **kwargs: Any) -> Any:
        raise ConnectionTimeout("read timeout=60")

    monkeypatch.setattr(Elasticsearch, "msearch", slow)
    runs = rules_run(rule_ids=[r.pk for r in rules])
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.force_login(cast.analyst)
    staff = Client()
    cast.lead.is_staff = True
    cast.lead.save()
    staff.force_login(cast.lead)

    assert [(r.timed_out, "timed out" in r.error) for r in runs] == [(True, True)] * 2
    assert all(r.consecutive_errors == 1 and r.checkpoint is None for r in DetectionRule.objects.all())
    assert page.get("/rules/").content.decode().count("1 \u00d7 search timed out") == 2
    health = staff.get("/healthz").json()["detection"]
    assert (health["rules_failing"], health["rules_timing_out"]) == (2, 2)
    assert {f["name"] for f in health["failing"]} == {"whoami 0", "whoami 1"}


@pytest.mark.django_db
def test_a_search_stopped_at_its_server_side_limit_is_a_timed_out_run(
        es: Elasticsearch, cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    real = Elasticsearch.msearch

    def partial(self: Elasticsearch, **kwargs: Any) -> Any:
        answer = dict(real(self, **kwargs))
        answer["responses"] = [{**r, "timed_out": True} for r in answer["responses"]]
        return answer

    monkeypatch.setattr(Elasticsearch, "msearch", partial)
    [run] = rules_run(rule_ids=[rule.pk])

    assert run.timed_out and "stopped after 10s" in run.error


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_edits_of_one_rule_make_two_versions(es: Elasticsearch, cast: Cast) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def edit(severity: str) -> None:
        try:
            copy = DetectionRule.objects.get(pk=rule.pk)  # each thread read version 1, as two browsers would
            barrier.wait()
            rule_update(rule=copy, actor=Actor.system(), data={"severity": severity})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(s,)) for s in ("high", "critical")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(RuleVersion.objects.filter(rule=rule).values_list("version", flat=True)) == [1, 2, 3]
    assert DetectionRule.objects.get(pk=rule.pk).version == 3


@pytest.mark.django_db
def test_an_edit_never_writes_back_the_checkpoint_it_read(es: Elasticsearch, orgs: None) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    stale = DetectionRule.objects.get(pk=rule.pk)
    rules_run(rule_ids=[rule.pk])  # moves the checkpoint after the editor loaded the rule

    rule_update(rule=stale, actor=Actor.system(), data={"severity": "high"})

    assert DetectionRule.objects.get(pk=rule.pk).checkpoint is not None
