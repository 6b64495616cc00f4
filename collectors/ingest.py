"""Ingest: validate a collector's batch, enrich it, store it in Elasticsearch once.

Each item is ``{"id": ..., "raw": "<log line>"}`` (parsed here with the same
parsers the agent uses) or ``{"id": ..., "doc": {<ECS document>}}`` (parsed at
the edge). The Elasticsearch ``_id`` is ``<collector uid>:<item id>`` written
with ``op_type: create``: a resend after a lost answer is a no-op, never a
duplicate, and one collector cannot overwrite another's events.

Clock skew: the agent measures its host's clock against ours (``server_time``
in our answers) and sends the offset with every batch; an offset of at least
``CLOCK_TOLERANCE`` seconds moves each event's ``@timestamp`` to our clock, and
the shift applied is kept in ``soc.clock_offset_seconds``. Edge timestamps come
from the host's clock (its log lines), so they are wrong by the same amount.

Trust boundary (``collectors.boundary``): a document is first rewritten into one spelling per field (dotted
keys merged into objects, size bounded), then the server-owned fields (``organization``, ``agent``, ``soc``,
``event.ingested``) are written from the credential over whatever the sender put there. What the agent sends (a
document in one spelling, without server-owned fields) is stored with one serialisation that checks the same
(``_stored_as_sent``); anything else goes the way just described.

Time bounds: an event dated more than ``INGEST_FUTURE_TOLERANCE_SECONDS`` ahead of our clock (after the clock
correction) is refused and dead-lettered with the reason: the agent already corrects a host's measured clock
offset, so what is still in the future is a broken source (a wrong time zone, a bad clock), and storing it
under its own date would create indices for days that have not happened (a sender could create one per
day until the node's shard limit stops every province). An event older than ``INGEST_BACKFILL_AFTER_DAYS``
is history (a replay of last month's logs, an agent that was offline): it keeps its own ``@timestamp`` and is
searchable like any other, but is stored in the back-fill index of the month it *arrived*
(``events-backfill-YYYY.MM``) and marked ``soc.backfill``, so whatever dates a sender writes, the ingest
creates at most a few daily indices and one monthly index; retention deletes back-fill by arrival.

Two entries, the same answers: ``ingest_batch`` (sync: tests, commands) and ``aingest_batch`` (async), in two
halves for the async ingest view: ``batch_prepare`` (CPU, on the loop) and ``abatch_store``, whose Elasticsearch
calls are awaited and whose bulks are shared by a worker's concurrent requests (``_Coalescer``): hundreds of small
batches a second become a few bulks, and each request still gets its own items' answers.

Every item gets an answer: ``created``, ``duplicate`` (already stored),
``rejected`` (invalid or refused by the mapping; kept in the dead-letter
index with the reason) or ``retry`` (not stored; the collector must resend).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings

from collectors.agent import jsonfast
from collectors.agent.parsers import parse_line
from collectors.agent.parsers.base import ECS_VERSION, ParseContext, isoformat_utc
from collectors.boundary import SERVER_OWNED, SERVER_OWNED_EVENT_FIELD, ShapeError, is_plain, normalised
from collectors.models import Collector
from soc import es
from soc.aio import loop_client

logger = logging.getLogger(__name__)
_ID = re.compile(r"[A-Za-z0-9._:\-]{1,200}\Z")  # \Z: "$" would also match before a final newline
_RETRYABLE = {429, 500, 502, 503, 504}
_ATTEMPTS = 3
CLOCK_TOLERANCE = 2.0  # seconds; below this the agent's measurement (half a round trip) is noise
MAX_CLOCK_OFFSET = 7 * 86400.0  # a larger "offset" is a broken clock or a broken agent: not applied
# A batch that resent events already stored leaves one count behind in the ``ingest`` indices (readiness:
# duplicate-resend ratio), apart from the events so that searches and counts of events stay exact.
DUPLICATE_ACTION = "duplicates-refused"
# What ``_bulk_once`` reads of each item's answer (a refused item's error also carries its index, shard, uuid...).
_BULK_FILTER = "items.*.status,items.*.error.type,items.*.error.reason"


@dataclass(slots=True)
class ItemResult:
    id: str
    status: str
    error: str = ""

    def as_dict(self) -> dict[str, str]:
        if self.error:
            return {"id": self.id, "status": self.status, "error": self.error}
        return {"id": self.id, "status": self.status}


@dataclass(slots=True)
class Prepared:
    item_id: str
    action: bytes  # the bulk line before the document: its daily index and ``_id``
    source: bytes  # the document serialised once, for the bulk body
    item: Any = None  # the item, for its dead letter if the index refuses it; None: ``{"id": item_id, "doc": source}``


class BatchError(ValueError):
    """The whole request is malformed; nothing of it is stored."""


@dataclass(slots=True)
class _Stamp:
    """What one ``@timestamp`` string means for storing an event. The events of a batch share a few (log lines
    share their seconds), so each distinct one is parsed, moved and given its index once per batch."""

    moment: datetime | None  # as sent; None: not an ISO 8601 date-time
    corrected: str = ""  # ``@timestamp`` moved to our clock; "": left as sent (no shift, or at the calendar's edge)
    day_moment: datetime | None = None  # what the daily index goes by: ``moment``, moved when ``corrected``
    head: bytes = b""  # ``_bulk_head`` of that day, once asked for
    refusal: str = ""  # why an event with this time is not stored ("": it is)
    backfill: bool = False  # older than the live days: stored in the arrival month's back-fill index


@dataclass(slots=True)
class _Batch:
    """What every event of one request shares, worked out once: this path runs ~1,000 times per request."""

    collector: Collector
    shift: float
    max_bytes: int
    max_fields: int
    max_depth: int
    too_large: str
    id_prefix: str  # ``<collector uid>:``
    organization: dict[str, str]  # shared by the batch's documents, which are only serialised after this
    agent: dict[str, str]
    ingested: str
    index_prefix: str
    stamps: dict[str, _Stamp]
    future_limit: datetime  # events after this are refused
    live_from: datetime  # events before this are back-fill
    backfill_head: bytes  # the bulk action head of this month's back-fill index

    @classmethod
    def of(cls, collector: Collector, now: datetime, shift: float) -> _Batch:
        org, uid = collector.organisation, str(collector.uid)
        return cls(collector=collector, shift=shift, max_bytes=settings.INGEST_MAX_EVENT_BYTES,
                   max_fields=settings.INGEST_MAX_EVENT_FIELDS, max_depth=settings.INGEST_MAX_EVENT_DEPTH,
                   too_large=f"event larger than {settings.INGEST_MAX_EVENT_BYTES} bytes", id_prefix=f"{uid}:",
                   organization={"id": org.code, "name": org.name},
                   agent={"id": uid, "name": collector.name, "type": "soc-collector"},
                   ingested=isoformat_utc(now), index_prefix=settings.ES_INDEX_PREFIX, stamps={},
                   future_limit=now + timedelta(seconds=settings.INGEST_FUTURE_TOLERANCE_SECONDS),
                   live_from=_live_from(now),
                   backfill_head=_backfill_head(now.year, now.month, settings.ES_INDEX_PREFIX))

    def stamp(self, value: Any) -> _Stamp | None:
        """The meaning of an ``@timestamp`` value; None when it is not a string."""
        if not isinstance(value, str):
            return None
        known = self.stamps.get(value)
        if known is None:
            known = self.stamps[value] = self._bounded(_stamp(value, self.shift))
        return known

    def _bounded(self, stamp: _Stamp) -> _Stamp:
        """Where the time bounds put an event of this time (see the module's docstring)."""
        moment = stamp.day_moment
        if moment is None:
            return stamp
        if moment > self.future_limit:
            stamp.refusal = (f"@timestamp is more than {settings.INGEST_FUTURE_TOLERANCE_SECONDS} s ahead of the "
                             "central clock: check the source's clock and time zone")
        elif moment < self.live_from:
            stamp.backfill, stamp.head = True, self.backfill_head
        return stamp

    def action(self, stamp: _Stamp | None, item_id: str) -> bytes:
        """``{"create": {"_index": <the event's daily index>, "_id": "<collector uid>:<item id>"}}``."""
        if stamp is not None and stamp.head:
            head = stamp.head
        elif stamp is not None and stamp.day_moment is not None:
            # Only for an event about to be stored: a moment at the calendar's edge may not convert to UTC.
            head = stamp.head = _bulk_head(stamp.day_moment.astimezone(UTC).date(), self.index_prefix)
        else:  # no date-time to go by: today's index
            head = _bulk_head(datetime.now(UTC).date(), self.index_prefix)
        return head + jsonfast.dumps(self.id_prefix + item_id) + b"}}"


def ingest_batch(*, collector: Collector, payload: Any, clock_offset: float = 0.0) -> list[ItemResult]:
    """``clock_offset``: our clock minus the collector host's, in seconds, as the agent measured it."""
    batch = batch_prepare(collector=collector, payload=payload, clock_offset=clock_offset)
    batch.results.update(_store(batch.prepared))
    _dead_letter(batch)
    _report_duplicates(batch)
    return batch.answers()


async def aingest_batch(*, collector: Collector, payload: Any, clock_offset: float = 0.0) -> list[ItemResult]:
    """``ingest_batch`` for async callers: ``batch_prepare`` then ``abatch_store``."""
    return await abatch_store(batch=batch_prepare(collector=collector, payload=payload, clock_offset=clock_offset))


def batch_prepare(*, collector: Collector, payload: Any, clock_offset: float = 0.0) -> PreparedBatch:
    """Each item of a request's decoded ``payload`` serialised for the bulk, or answered (rejected). CPU work, run
    on the loop by the async view. Raises BatchError for a malformed request.

    The batch keeps bytes, not the decoded documents (save the rejected items, for their dead letters): a caller
    that drops ``payload`` before it waits for Elasticsearch holds no containers for the garbage collector to walk
    while it waits. A worker has up to ``INGEST_BATCHES_IN_FLIGHT`` batches waiting; holding their documents,
    collections triggered by the other requests' decoding walked them all, again and again (a third of the CPU
    per event at 32 batches in flight)."""
    items = _items(payload)
    now = datetime.now(UTC)
    shift = clock_offset if CLOCK_TOLERANCE <= abs(clock_offset) <= MAX_CLOCK_OFFSET else 0.0
    shared = _Batch.of(collector, now, shift)
    batch = PreparedBatch(collector, len(items), now, {}, {}, {})
    with collection_paused():
        for pos, item in enumerate(items):
            outcome = _prepare(shared, item)
            if isinstance(outcome, Prepared):
                batch.prepared[pos] = outcome
            else:
                batch.results[pos] = outcome
                if outcome.status == "rejected" and outcome.id:
                    batch.rejected_items[pos] = item
    return batch


async def abatch_store(*, batch: PreparedBatch) -> list[ItemResult]:
    """Store a prepared batch, Elasticsearch awaited rather than waited for; every item's answer, in order."""
    batch.results.update(await _astore(batch.prepared))
    await _adead_letter(batch)
    await _areport_duplicates(batch)
    return batch.answers()


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection during a batch's preparation (synchronous: nothing else runs on the loop).

    Preparing allocates a few containers per event that live until the item is serialised (a copy of the document
    with the server's fields), while the decoded documents are all alive: each collection this triggers would walk
    them, though JSON documents hold no cycles and are freed by reference counting. Collections resume after, at
    the next allocation, over whatever is still alive then (the batch's bytes are not containers)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(slots=True)
class PreparedBatch:
    """One request's items, each either prepared for the bulk or already answered."""

    collector: Collector
    size: int
    now: datetime
    results: dict[int, ItemResult]
    prepared: dict[int, Prepared]
    rejected_items: dict[int, Any]  # the items refused here with an id, for their dead letters

    def rejected(self) -> dict[int, ItemResult]:
        """What was refused with an id to keep it under: the dead letters."""
        return {pos: r for pos, r in self.results.items() if r.status == "rejected" and r.id}

    def original(self, pos: int) -> Any:
        """Item ``pos`` for its dead letter: as sent, with the server's fields written into its document once it was
        prepared (``_enrich`` writes them there; ``_stored_as_sent`` into a copy, whose bytes are ``source``)."""
        if pos in self.rejected_items:
            return self.rejected_items[pos]
        prep = self.prepared[pos]
        return prep.item if prep.item is not None else {"id": prep.item_id, "doc": json.loads(prep.source)}

    def duplicates(self) -> int:
        return sum(1 for r in self.results.values() if r.status == "duplicate")

    def answers(self) -> list[ItemResult]:
        return [self.results[pos] for pos in range(self.size)]


def _items(payload: Any) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise BatchError('body must be a JSON object {"events": [...]}')
    items = payload["events"]
    if len(items) > settings.INGEST_MAX_EVENTS:
        raise BatchError(f"at most {settings.INGEST_MAX_EVENTS} events per request")
    # Only text ids can clash; any other id (a list, an object...) is refused on its own item, not here.
    ids = [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]
    if len(ids) != len(set(ids)):
        raise BatchError("event ids must be unique within a request")
    return items


def _prepare(batch: _Batch, item: Any) -> Prepared | ItemResult:
    item_id = item.get("id") if isinstance(item, dict) else None
    if not isinstance(item_id, str) or not _ID.match(item_id):
        return ItemResult(item_id if isinstance(item_id, str) else "", "rejected",
                          "id must be 1-200 characters of A-Z a-z 0-9 . _ : -")
    stored = _stored_as_sent(batch, item, item_id)
    if stored is not None:
        return stored
    raw = item.get("raw")
    if isinstance(raw, str) and len(raw) > batch.max_bytes:  # not worth parsing
        return ItemResult(item_id, "rejected", batch.too_large)
    ecs = _to_ecs(item, raw, batch)
    if isinstance(ecs, str):
        return ItemResult(item_id, "rejected", ecs)
    doc, stamp = ecs
    refusal = _enrich(doc, batch, stamp)
    if refusal:
        return ItemResult(item_id, "rejected", refusal)
    source = jsonfast.dumps(doc)  # the limit applies to what would be stored; the bulk reuses these bytes
    if len(source) > batch.max_bytes:
        return ItemResult(item_id, "rejected", batch.too_large)
    return Prepared(item_id, batch.action(stamp, item_id), source, item)


def _stored_as_sent(batch: _Batch, item: dict[str, Any], item_id: str) -> Prepared | None:
    """An item ``{"id": ..., "doc": {...}}`` (what the agent sends) prepared with one serialisation, when that gives
    what ``_to_ecs`` and ``_enrich`` would: the sender wrote none of the server-owned fields, the time is storable,
    and the bytes to store (the sender's document with the server's fields added, nothing of it removed) show
    nothing to normalise, which then holds for the sender's own. None for anything else, any refusal included:
    the exact path decides, from the item as sent (this one leaves it untouched, and keeps nothing of it).
    """
    if len(item) != 2 or next(iter(item)) != "id":
        return None
    doc = item.get("doc")
    if type(doc) is not dict or not doc.keys().isdisjoint(SERVER_OWNED):
        return None
    stamp = batch.stamp(doc.get("@timestamp"))
    if stamp is None or stamp.moment is None or stamp.refusal:
        return None
    event = doc.get("event")
    if event is None:
        event = {}
    elif type(event) is not dict or SERVER_OWNED_EVENT_FIELD in event:
        return None
    stored = dict(doc)  # the same fields, in the same order, as ``_enrich`` writes them into the document
    stored["event"] = {**event, SERVER_OWNED_EVENT_FIELD: batch.ingested}
    stored["organization"] = batch.organization
    stored["agent"] = batch.agent
    if stamp.corrected or stamp.backfill:
        stored["soc"] = _server_soc(stamp, batch.shift)
    if stamp.corrected:
        stored["@timestamp"] = stamp.corrected
    if "ecs" not in stored:
        stored["ecs"] = {"version": ECS_VERSION}
    source = jsonfast.dumps(stored)
    # The sender's document is these bytes less the server's fields, save a corrected @timestamp: the one it sent,
    # swapped for ours, may have been longer (at most six bytes a character, escaped).
    sent = len(source) + 6 * len(doc["@timestamp"]) if stamp.corrected else 0
    if len(source) > batch.max_bytes or not is_plain(source, max_fields=batch.max_fields, length=sent):
        return None
    return Prepared(item_id, batch.action(stamp, item_id), source)


def _to_ecs(item: dict[str, Any], raw: Any, batch: _Batch) -> tuple[dict[str, Any], _Stamp | None] | str:
    """The ECS document of an item with what its ``@timestamp`` means, or the reason it is invalid."""
    doc: Any
    if isinstance(raw, str):
        host = item.get("host")
        doc = parse_line(raw, ParseContext(host=host if isinstance(host, str) else batch.collector.name))
    else:
        doc = item.get("doc")
        if not isinstance(doc, dict):
            return 'each event needs "raw" (a log line) or "doc" (an ECS object)'
    try:  # before anything is read from it: a dotted "@timestamp" is still the same field
        doc = normalised(doc, max_fields=batch.max_fields, max_depth=batch.max_depth)
    except ShapeError as exc:
        return str(exc)
    stamp = batch.stamp(doc.get("@timestamp"))
    if isinstance(raw, str):
        return doc, stamp
    if stamp is None or stamp.moment is None:
        return '"@timestamp" must be an ISO 8601 date-time within years 1-9999 in UTC'
    return doc, stamp


def _parse_ts(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)  # 9999-12-31T23:00-05:00 is a valid string but past the calendar's end in UTC
    except OverflowError:
        return None
    return moment


def _stamp(value: str, shift: float) -> _Stamp:
    moment = _parse_ts(value)
    if not shift or moment is None:
        return _Stamp(moment, day_moment=moment)
    try:
        return _Stamp(moment, isoformat_utc(moment + timedelta(seconds=shift)), moment + timedelta(seconds=shift))
    except OverflowError:  # a date at the edge of the calendar: kept as sent
        return _Stamp(moment, day_moment=moment)


def _enrich(doc: dict[str, Any], batch: _Batch, stamp: _Stamp | None) -> str:
    """Write the fields the collector cannot be trusted to set (from its credential and our clock) over
    whatever it sent; ``doc`` is normalised (one spelling per field). Returns why it is refused, or ""."""
    if stamp is not None and stamp.refusal:
        return stamp.refusal
    event = doc.get("event")
    if event is None:
        doc["event"] = {SERVER_OWNED_EVENT_FIELD: batch.ingested}
    elif type(event) is dict:
        event[SERVER_OWNED_EVENT_FIELD] = batch.ingested
    else:  # a value or an array of objects would carry its own "event.ingested" past ours
        return '"event" must be an object'
    doc["organization"] = batch.organization
    doc["agent"] = batch.agent
    soc = _server_soc(stamp, batch.shift)
    if soc:
        doc["soc"] = soc
    else:
        doc.pop("soc", None)
    if stamp is not None and stamp.corrected:
        doc["@timestamp"] = stamp.corrected
    if "ecs" not in doc:
        doc["ecs"] = {"version": ECS_VERSION}
    return ""


def _server_soc(stamp: _Stamp | None, shift: float) -> dict[str, Any]:
    """The ``soc`` object: only what the ingest itself knows (the clock shift it applied, back-fill)."""
    soc: dict[str, Any] = {}
    if stamp is not None and stamp.corrected:
        soc["clock_offset_seconds"] = round(shift, 3)
    if stamp is not None and stamp.backfill:
        soc["backfill"] = True
    return soc


def _live_from(now: datetime) -> datetime:
    """Events dated before the start of this UTC day, ``INGEST_BACKFILL_AFTER_DAYS`` back, are back-fill."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return today - timedelta(days=settings.INGEST_BACKFILL_AFTER_DAYS)


@lru_cache(maxsize=64)
def _bulk_head(day: date, prefix: str) -> bytes:
    """The bulk action line of a UTC day's events index up to its ``_id`` (the prefix is part of the key: tests
    change it). With ``jsonfast.dumps(_id) + b"}}"`` it is ``jsonfast.dumps({"create": {"_index": ..., "_id": ...}})``.
    """
    index = es.index_name("events", datetime(day.year, day.month, day.day, tzinfo=UTC))
    return b'{"create":{"_index":' + jsonfast.dumps(index) + b',"_id":'


@lru_cache(maxsize=16)
def _backfill_head(year: int, month: int, prefix: str) -> bytes:
    """The bulk action line of a month's back-fill index up to its ``_id`` (see ``_bulk_head``)."""
    return b'{"create":{"_index":' + jsonfast.dumps(es.backfill_index_name(year, month)) + b',"_id":'


def _store(prepared: dict[int, Prepared]) -> dict[int, ItemResult]:
    results: dict[int, ItemResult] = {}
    pending = dict(prepared)
    for attempt in range(_ATTEMPTS):
        if not pending:
            break
        if attempt:
            time.sleep(_backoff(attempt))
        try:
            response = es.client().bulk(operations=_bulk_body(pending),  # type: ignore[arg-type]  # sent as is
                                        refresh=False, filter_path=_BULK_FILTER)
        except Exception as exc:  # any transport error: the items are tried again, then answered "retry"
            logger.warning("Elasticsearch bulk failed (attempt %d of %d): %s", attempt + 1, _ATTEMPTS, exc)
            continue
        pending = _sort_bulk_answers(pending, response, results)
    return _still_pending(pending, results)


async def _astore(prepared: dict[int, Prepared]) -> dict[int, ItemResult]:
    """``_store``, awaited, in the bulks the worker's requests share (``_Coalescer``)."""
    results: dict[int, ItemResult] = {}
    pending = dict(prepared)
    for attempt in range(_ATTEMPTS):
        if not pending:
            break
        if attempt:
            await asyncio.sleep(_backoff(attempt))
        try:
            response = await _coalescer().bulk(_bulk_lines(pending), len(pending))
        except Exception as exc:  # any transport error: the items are tried again, then answered "retry"
            logger.warning("Elasticsearch bulk failed (attempt %d of %d): %s", attempt + 1, _ATTEMPTS, exc)
            continue
        pending = _sort_bulk_answers(pending, response, results)
    return _still_pending(pending, results)


def _backoff(attempt: int) -> float:
    return 0.2 * 2**attempt


def _bulk_body(pending: dict[int, Prepared]) -> bytes:
    """The bulk body from the bytes prepared once per item (no second serialisation)."""
    lines = _bulk_lines(pending)
    lines.append(b"")  # the final newline, without copying the body once more to add it
    return b"\n".join(lines)


def _bulk_lines(pending: dict[int, Prepared]) -> list[bytes]:
    lines: list[bytes] = []
    for prep in pending.values():
        lines += (prep.action, prep.source)
    return lines


# A request's bulk lines, how many items they are, and where its items' answers go.
_Waiting = tuple[list[bytes], int, "asyncio.Future[dict[str, Any]]"]


class _Coalescer:
    """The bulks of a worker's concurrent requests, sent to Elasticsearch as few bulks.

    680 collectors send hundreds of small batches a second; one bulk each costs Elasticsearch a fixed overhead
    per request and keeps the worker waiting on as many round trips. Here each request queues its lines and
    waits; at most ``IN_FLIGHT`` bulks are out at once, and each takes everything queued (whole requests, up to
    ``MAX_ITEMS``) when it leaves, so the bulks grow with the load instead of their number. Each request gets its
    own items' answers back, in order; a transport error is every waiting request's (each retries its items).
    """

    IN_FLIGHT = 2
    MAX_ITEMS = 5000

    def __init__(self) -> None:
        self.waiting: list[_Waiting] = []
        self.flushers = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def bulk(self, lines: list[bytes], count: int) -> dict[str, Any]:
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting.append((lines, count, answer))
        if self.flushers < self.IN_FLIGHT:
            self.flushers += 1
            task = asyncio.create_task(self._flush())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await answer

    async def _flush(self) -> None:
        try:
            while self.waiting:
                taken = self._take()
                body = [line for lines, _, _ in taken for line in lines]
                body.append(b"")
                try:
                    response = await es.async_client().bulk(operations=b"\n".join(body),  # type: ignore[arg-type]
                                                            refresh=False, filter_path=_BULK_FILTER)
                    _hand_out(taken, response["items"])
                except Exception as exc:  # each request sees it as its own failed bulk; none is left waiting
                    for _, _, answer in taken:
                        if not answer.done():
                            answer.set_exception(exc)
        finally:
            self.flushers -= 1

    def _take(self) -> list[_Waiting]:
        taken: list[_Waiting] = []
        items = 0
        while self.waiting and (not taken or items + self.waiting[0][1] <= self.MAX_ITEMS):
            entry = self.waiting.pop(0)
            taken.append(entry)
            items += entry[1]
        return taken


def _hand_out(taken: list[_Waiting], items: list[Any]) -> None:
    start = 0
    for _, count, answer in taken:
        if not answer.done():  # a request whose client went away is no longer waiting
            answer.set_result({"items": items[start:start + count]})
        start += count


def _coalescer() -> _Coalescer:
    return loop_client("ingest-bulk", _Coalescer, _no_close)


async def _no_close(_: object) -> None:
    return None


def _still_pending(pending: dict[int, Prepared], results: dict[int, ItemResult]) -> dict[int, ItemResult]:
    for pos, prep in pending.items():
        results[pos] = ItemResult(id=prep.item_id, status="retry", error="Elasticsearch is busy; resend")
    return results


def _sort_bulk_answers(pending: dict[int, Prepared], response: Any,
                       results: dict[int, ItemResult]) -> dict[int, Prepared]:
    """Each item's answer into ``results``; returns the items to try again (429/5xx). The answer is cut to
    ``_BULK_FILTER``."""
    retry: dict[int, Prepared] = {}
    for (pos, prep), entry in zip(pending.items(), response["items"], strict=True):
        outcome = entry["create"]
        status = outcome.get("status", 500)
        if status == 201 or status == 200:
            results[pos] = ItemResult(prep.item_id, "created")
        elif status == 409:
            results[pos] = ItemResult(prep.item_id, "duplicate")
        elif status in _RETRYABLE:
            retry[pos] = prep
        else:
            reason = outcome.get("error", {})
            results[pos] = ItemResult(id=prep.item_id, status="rejected",
                                      error=f"{reason.get('type', 'error')}: {reason.get('reason', '')}"[:500])
    return retry


def _dead_letter(batch: PreparedBatch) -> None:
    """Keep what was refused, with the reason, so nothing is silently lost."""
    rejected = batch.rejected()
    if rejected:
        _sort_dead_letter_answers(rejected, es.client().bulk(operations=_dead_letters(batch, rejected)))


async def _adead_letter(batch: PreparedBatch) -> None:
    rejected = batch.rejected()
    if rejected:
        _sort_dead_letter_answers(rejected, await es.async_client().bulk(operations=_dead_letters(batch, rejected)))


def _dead_letters(batch: PreparedBatch, rejected: dict[int, ItemResult]) -> list[dict[str, Any]]:
    collector, now = batch.collector, batch.now
    operations: list[dict[str, Any]] = []
    for pos, result in rejected.items():
        operations += [
            {"create": {"_index": es.index_name("deadletter", now), "_id": f"{collector.uid}:{result.id}"}},
            {
                "@timestamp": isoformat_utc(now),
                "error": {"type": result.error.split(":", 1)[0], "message": result.error},
                "organization": {"id": collector.organisation.code},
                "agent": {"id": str(collector.uid)},
                "event": {"original": json.dumps(batch.original(pos), ensure_ascii=False)[
                    : settings.INGEST_MAX_EVENT_BYTES]},
            },
        ]
    return operations


def _sort_dead_letter_answers(rejected: dict[int, ItemResult], response: Any) -> None:
    for result, entry in zip(rejected.values(), response["items"], strict=True):
        if entry["create"].get("status") not in (200, 201, 409):
            result.status, result.error = "retry", "dead-letter index unavailable; resend"


def _report_duplicates(batch: PreparedBatch) -> None:
    """One small count per batch that carried resends. The resent events themselves are already safe, so a
    failure here costs a measurement, not data: it is logged and the batch still answers."""
    count = batch.duplicates()
    if not count:
        return
    try:
        es.client().index(index=es.index_name(es.INGEST_STATS, batch.now), document=_duplicates_doc(batch, count),
                          refresh=False)
    except Exception:  # any transport error: see the docstring
        logger.warning("could not record %d duplicate resends of collector %s", count, batch.collector.uid)


async def _areport_duplicates(batch: PreparedBatch) -> None:
    count = batch.duplicates()
    if not count:
        return
    try:
        await es.async_client().index(index=es.index_name(es.INGEST_STATS, batch.now),
                                      document=_duplicates_doc(batch, count), refresh=False)
    except Exception:  # any transport error: see ``_report_duplicates``
        logger.warning("could not record %d duplicate resends of collector %s", count, batch.collector.uid)


def _duplicates_doc(batch: PreparedBatch, count: int) -> dict[str, Any]:
    collector = batch.collector
    return {"@timestamp": isoformat_utc(batch.now), "organization": {"id": collector.organisation.code},
            "agent": {"id": str(collector.uid)}, "event": {"action": DUPLICATE_ACTION, "count": count}}
