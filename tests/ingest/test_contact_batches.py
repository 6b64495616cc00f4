"""Collectors' heartbeats and "last seen" are written a batch at a time (``collectors.contact``): one statement
for the heartbeats that arrive together, each still answered with its own configuration (or refused, revoked), and
"last seen" written for every collector at most every ``SEEN_EVERY`` seconds, never moved backwards."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import DatabaseError, InterfaceError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from collectors import contact
from collectors.models import Collector
from collectors.services import collector_configure, collector_create
from organisations.actors import Actor
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(cast: Cast) -> list[Collector]:
    return [collector_create(organisation=org, name=f"C-{org.code}-{n}")[0]
            for n in range(3) for org in (cast.hni, cast.hcm)]


@pytest.fixture(autouse=True)
def nothing_noted() -> Iterator[None]:
    contact._seen.clear()
    contact._seen_written_at[0] = 0.0
    yield
    contact._seen.clear()


def updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]


def beat_together(collectors: list[Collector], reports: list[dict[str, Any]]) -> list[Any]:
    async def together() -> list[Any]:
        return list(await asyncio.gather(*(contact.heartbeat_record(collector=c, report=r)
                                           for c, r in zip(collectors, reports, strict=True))))

    return async_to_sync(together)()


def test_heartbeats_arriving_together_are_one_statement_each_answered_with_its_own_configuration(
        fleet: list[Collector]) -> None:
    collector_configure(collector=fleet[1], actor=Actor.system(), config={"batch_size": 77})
    Collector.objects.filter(pk=fleet[2].pk).update(revoked_at=timezone.now())  # revoked in another process

    with CaptureQueriesContext(connection) as queries:
        answers = beat_together(fleet, [{"version": f"1.{n}", "drops": n} for n in range(len(fleet))])

    assert len(updates(queries)) == 1
    assert answers[1] == {"batch_size": 77} and fleet[1].config_version == 1
    assert answers[2] is None  # refused: the view answers 401
    assert all(answer == {} for n, answer in enumerate(answers) if n not in (1, 2))
    stored = {c.pk: c for c in Collector.objects.filter(pk__in=[c.pk for c in fleet])}
    assert stored[fleet[4].pk].version == "1.4" and stored[fleet[4].pk].health["drops"] == 4
    assert stored[fleet[2].pk].last_heartbeat_at is None  # a revoked collector's report is not kept


def test_two_beats_of_one_collector_in_a_window_keep_the_latest(fleet: list[Collector]) -> None:
    beat_together([fleet[0], fleet[0]], [{"version": "old"}, {"version": "new"}])

    assert Collector.objects.get(pk=fleet[0].pk).version == "new"


def test_a_failed_statement_fails_every_heartbeat_waiting_for_it(fleet: list[Collector],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: Any) -> Any:
        raise DatabaseError("connection lost")

    monkeypatch.setattr(contact, "collector_record_heartbeats", broken)

    with pytest.raises(DatabaseError):
        beat_together(fleet[:3], [{}, {}, {}])


def see(collector: Collector) -> None:
    async_to_sync(contact.seen_record)(collector=collector)


def test_last_seen_is_written_for_every_collector_at_most_every_few_seconds(
        fleet: list[Collector], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(contact.time, "monotonic", lambda: clock[0])

    with CaptureQueriesContext(connection) as first:
        see(fleet[0])  # a process's first batch: written at once
    with CaptureQueriesContext(connection) as within:
        for collector in fleet[1:]:
            see(collector)
            clock[0] += 0.5
    assert len(updates(first)) == 1 and updates(within) == []
    assert Collector.objects.exclude(last_seen_at=None).count() == 1

    clock[0] = 1000.0 + contact.SEEN_EVERY
    with CaptureQueriesContext(connection) as due:
        see(fleet[0])
    assert len(updates(due)) == 1
    assert Collector.objects.filter(pk__in=[c.pk for c in fleet], last_seen_at=None).count() == 0


def test_last_seen_never_moves_backwards(fleet: list[Collector]) -> None:
    later = timezone.now() + timedelta(minutes=5)  # written by another process from its own clock
    Collector.objects.filter(pk=fleet[0].pk).update(last_seen_at=later)

    see(fleet[0])

    assert Collector.objects.get(pk=fleet[0].pk).last_seen_at == later


@pytest.mark.parametrize("error", [DatabaseError, InterfaceError])
def test_a_failed_write_of_last_seen_keeps_the_notes_and_the_batch_is_answered(
        fleet: list[Collector], monkeypatch: pytest.MonkeyPatch, error: type[Exception]) -> None:
    def broken(**_: Any) -> None:
        raise error("connection lost")

    monkeypatch.setattr(contact, "collectors_mark_seen", broken)
    see(fleet[0])  # no exception: the ingest request that pays for the write still answers

    assert set(contact._seen) == {fleet[0].pk}
    assert Collector.objects.get(pk=fleet[0].pk).last_seen_at is None
