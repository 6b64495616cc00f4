"""Collectors' contact with a web process (heartbeats, "last seen"), written to PostgreSQL a batch at a time.

680 collectors each report every 5 s and ship batches all the time. A statement for each heartbeat, and for each
collector's "last seen" every 5 s, with a trip to a database thread each, was about 300 statements a second and
several % of a core of the ingest tier (``bench/load_bench.py``'s capacity phase). Here:

- the heartbeats that arrive within ``HEARTBEAT_WINDOW`` of the first one waiting are written by one statement,
  which also reads back each collector's configuration (its answer) and whether it is still active; every request
  waits for that statement (a heartbeat is answered ``HEARTBEAT_WINDOW`` later at most, and is never answered
  before it is written);
- "last seen" is kept in this process's memory and written for every collector seen since, at most every
  ``SEEN_EVERY`` seconds, by the request that finds the write due: the column is as fresh as before (it was written
  at most every 5 s a collector). What a process had not written when it stops (at most ``SEEN_EVERY`` of it) is
  lost; the heartbeats keep the collector's own report of life.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from django.db import Error
from django.utils import timezone

from collectors.models import Collector
from collectors.services import (
    Beat,
    collector_apply_heartbeat,
    collector_heartbeat_report,
    collector_record_heartbeats,
    collectors_mark_seen,
)
from soc.aio import database, loop_client

logger = logging.getLogger(__name__)

HEARTBEAT_WINDOW = 0.05  # seconds
SEEN_EVERY = 5.0  # seconds

Answers = dict[int, tuple[Any, int]]


class _Heartbeats:
    """The heartbeats of one event loop waiting for their statement: collector pk -> its latest beat."""

    def __init__(self) -> None:
        self.waiting: dict[int, Beat] = {}
        self.written: asyncio.Future[Answers] | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def record(self, collector: Collector, beat: Beat) -> Answers:
        self.waiting[collector.pk] = beat  # a second beat of one collector in a window: its latest is kept
        if self.written is None:
            self.written = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._flush(self.written))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        # Shielded: a request whose client went away does not cancel the others' statement.
        return await asyncio.shield(self.written)

    async def _flush(self, written: asyncio.Future[Answers]) -> None:
        await asyncio.sleep(HEARTBEAT_WINDOW)
        taken, self.waiting, self.written = self.waiting, {}, None
        try:
            written.set_result(await database(collector_record_heartbeats, beats=taken))
        except Exception as exc:  # each waiting request fails as its own statement would have
            written.set_exception(exc)


def _heartbeats() -> _Heartbeats:
    return loop_client("collector-heartbeats", _Heartbeats, _nothing)


async def _nothing(_: object) -> None:
    return None


async def heartbeat_record(*, collector: Collector, report: dict[str, Any]) -> dict[str, Any] | None:
    """Keep the agent's report; returns the central configuration it must apply, or None when the collector has
    been revoked since the (cached) credential check."""
    beat = collector_heartbeat_report(report)
    return collector_apply_heartbeat(collector, beat, await _heartbeats().record(collector, beat))


_seen: dict[int, datetime] = {}  # collector pk -> its last accepted batch, not yet written
_seen_written_at = [0.0]  # time.monotonic() of the last write; 0: none yet, so a process's first request writes


async def seen_record(*, collector: Collector) -> None:
    """Note that ``collector``'s batch was accepted; write every collector's note when due (see the module)."""
    _seen[collector.pk] = timezone.now()
    now = time.monotonic()
    if now - _seen_written_at[0] < SEEN_EVERY:
        return
    _seen_written_at[0] = now
    taken = dict(_seen)
    _seen.clear()
    try:
        await database(collectors_mark_seen, seen=taken)
    except Error as exc:  # any database error, a dropped connection too: the batch is stored and answered all the
        # same; the notes wait for the next write
        logger.warning("could not write when collectors were last seen: %s", exc)
        for pk, at in taken.items():
            _seen.setdefault(pk, at)
