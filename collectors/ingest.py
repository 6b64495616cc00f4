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

Every item gets an answer: ``created``, ``duplicate`` (already stored),
``rejected`` (invalid or refused by the mapping; kept in the dead-letter
index with the reason) or ``retry`` (not stored; the collector must resend).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings

from collectors.agent import jsonfast
from collectors.agent.parsers import parse_line
from collectors.agent.parsers.base import ECS_VERSION, ParseContext, isoformat_utc, put
from collectors.models import Collector
from soc import es

logger = logging.getLogger(__name__)
_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,200}$")
_RETRYABLE = {429, 500, 502, 503, 504}
_ATTEMPTS = 3
CLOCK_TOLERANCE = 2.0  # seconds; below this the agent's measurement (half a round trip) is noise
MAX_CLOCK_OFFSET = 7 * 86400.0  # a larger "offset" is a broken clock or a broken agent: not applied
# A batch that resent events already stored leaves one count behind in the ``ingest`` indices (readiness:
# duplicate-resend ratio), apart from the events so that searches and counts of events stay exact.
DUPLICATE_ACTION = "duplicates-refused"


@dataclass
class ItemResult:
    id: str
    status: str
    error: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status, **({"error": self.error} if self.error else {})}


@dataclass
class Prepared:
    item_id: str
    es_id: str
    doc: dict[str, Any]
    source: bytes  # ``doc`` serialised once, for the bulk body


class BatchError(ValueError):
    """The whole request is malformed; nothing of it is stored."""


def ingest_batch(*, collector: Collector, payload: Any, clock_offset: float = 0.0) -> list[ItemResult]:
    """``clock_offset``: our clock minus the collector host's, in seconds, as the agent measured it."""
    items = _items(payload)
    now = datetime.now(UTC)
    shift = clock_offset if CLOCK_TOLERANCE <= abs(clock_offset) <= MAX_CLOCK_OFFSET else 0.0
    results: dict[int, ItemResult] = {}
    prepared: dict[int, Prepared] = {}
    for pos, item in enumerate(items):
        outcome = _prepare(collector, item, now, shift)
        if isinstance(outcome, ItemResult):
            results[pos] = outcome
        else:
            prepared[pos] = outcome
    results.update(_store(collector, prepared, now))
    rejected = {pos: r for pos, r in results.items() if r.status == "rejected" and r.id}
    _dead_letter(collector, {pos: items[pos] for pos in rejected}, rejected, now)
    _report_duplicates(collector, sum(1 for r in results.values() if r.status == "duplicate"), now)
    return [results[pos] for pos in range(len(items))]


def _items(payload: Any) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise BatchError('body must be a JSON object {"events": [...]}')
    items = payload["events"]
    if len(items) > settings.INGEST_MAX_EVENTS:
        raise BatchError(f"at most {settings.INGEST_MAX_EVENTS} events per request")
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    if len(ids) != len(set(ids)):
        raise BatchError("event ids must be unique within a request")
    return items


def _prepare(collector: Collector, item: Any, now: datetime, shift: float) -> Prepared | ItemResult:
    item_id = item.get("id") if isinstance(item, dict) else None
    if not isinstance(item_id, str) or not _ID.match(item_id):
        return ItemResult(id=item_id if isinstance(item_id, str) else "", status="rejected",
                          error="id must be 1-200 characters of A-Z a-z 0-9 . _ : -")
    too_large = f"event larger than {settings.INGEST_MAX_EVENT_BYTES} bytes"
    raw = item.get("raw")
    if isinstance(raw, str) and len(raw) > settings.INGEST_MAX_EVENT_BYTES:  # not worth parsing
        return ItemResult(id=item_id, status="rejected", error=too_large)
    doc = _to_ecs(item, collector)
    if isinstance(doc, str):
        return ItemResult(id=item_id, status="rejected", error=doc)
    _enrich(doc, collector, now)
    _correct_clock(doc, shift)
    source = jsonfast.dumps(doc)  # the limit applies to what would be stored; the bulk reuses these bytes
    if len(source) > settings.INGEST_MAX_EVENT_BYTES:
        return ItemResult(id=item_id, status="rejected", error=too_large)
    return Prepared(item_id=item_id, es_id=f"{collector.uid}:{item_id}", doc=doc, source=source)


def _to_ecs(item: dict[str, Any], collector: Collector) -> dict[str, Any] | str:
    """The ECS document of an item, or the reason it is invalid."""
    if isinstance(item.get("raw"), str):
        host = item.get("host")
        return parse_line(item["raw"], ParseContext(host=host if isinstance(host, str) else collector.name))
    doc = item.get("doc")
    if not isinstance(doc, dict):
        return 'each event needs "raw" (a log line) or "doc" (an ECS object)'
    if not isinstance(doc.get("@timestamp"), str) or _parse_ts(doc["@timestamp"]) is None:
        return '"@timestamp" must be an ISO 8601 date-time'
    return doc


def _parse_ts(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _enrich(doc: dict[str, Any], collector: Collector, now: datetime) -> None:
    """Fields the collector cannot be trusted to set: they come from its credential."""
    org = collector.organisation
    doc["organization"] = {"id": org.code, "name": org.name}
    doc["agent"] = {"id": _text(collector.uid), "name": collector.name, "type": "soc-collector"}
    put(doc, "event.ingested", _ingested(now))
    doc.setdefault("ecs", {"version": ECS_VERSION})


# The same few values for every event of a batch: formatted once (this path runs per event, ~1,000 per request).
@lru_cache(maxsize=64)
def _text(uid: uuid.UUID) -> str:
    return str(uid)


@lru_cache(maxsize=8)
def _ingested(now: datetime) -> str:
    return isoformat_utc(now)


@lru_cache(maxsize=64)
def _events_index(day: date, prefix: str) -> str:
    """``es.index_name("events", ...)`` of a UTC day (the prefix is part of the key: tests change it)."""
    return es.index_name("events", datetime(day.year, day.month, day.day, tzinfo=UTC))


def _correct_clock(doc: dict[str, Any], shift: float) -> None:
    """Move ``@timestamp`` by ``shift`` seconds (0: leave it); the collector may not claim a shift itself."""
    soc = doc.get("soc")
    if isinstance(soc, dict):
        soc.pop("clock_offset_seconds", None)
    moment = _parse_ts(doc["@timestamp"]) if isinstance(doc.get("@timestamp"), str) else None
    if not shift or moment is None:
        return
    try:
        doc["@timestamp"] = isoformat_utc(moment + timedelta(seconds=shift))
    except OverflowError:  # a date at the edge of the calendar: kept as sent
        return
    put(doc, "soc.clock_offset_seconds", round(shift, 3))


def _store(collector: Collector, prepared: dict[int, Prepared], now: datetime) -> dict[int, ItemResult]:
    results: dict[int, ItemResult] = {}
    pending = dict(prepared)
    for attempt in range(_ATTEMPTS):
        if not pending:
            break
        if attempt:
            time.sleep(0.2 * 2**attempt)
        pending = _bulk_once(pending, results)
    for pos, prep in pending.items():
        results[pos] = ItemResult(id=prep.item_id, status="retry", error="Elasticsearch is busy; resend")
    return results


def _bulk_once(pending: dict[int, Prepared], results: dict[int, ItemResult]) -> dict[int, Prepared]:
    """One bulk request; returns the items to try again (429/5xx)."""
    order = list(pending)
    lines: list[bytes] = []
    for pos in order:
        prep = pending[pos]
        ts = _parse_ts(prep.doc["@timestamp"]) or datetime.now(UTC)
        index = _events_index(ts.astimezone(UTC).date(), settings.ES_INDEX_PREFIX)
        lines += [jsonfast.dumps({"create": {"_index": index, "_id": prep.es_id}}), prep.source]
    try:
        # The body goes as bytes (no second serialisation); the answer is cut to what we read per item.
        response = es.client().bulk(operations=b"\n".join(lines) + b"\n",  # type: ignore[arg-type]  # sent as is
                                    refresh=False, filter_path="items.*.status,items.*.error")
    except Exception:
        return pending
    retry: dict[int, Prepared] = {}
    for pos, entry in zip(order, response["items"], strict=True):
        outcome = entry["create"]
        status, prep = outcome.get("status", 500), pending[pos]
        if status in (200, 201):
            results[pos] = ItemResult(id=prep.item_id, status="created")
        elif status == 409:
            results[pos] = ItemResult(id=prep.item_id, status="duplicate")
        elif status in _RETRYABLE:
            retry[pos] = prep
        else:
            reason = outcome.get("error", {})
            results[pos] = ItemResult(id=prep.item_id, status="rejected",
                                      error=f"{reason.get('type', 'error')}: {reason.get('reason', '')}"[:500])
    return retry


def _dead_letter(collector: Collector, items: dict[int, Any], results: dict[int, ItemResult],
                 now: datetime) -> None:
    """Keep what was refused, with the reason, so nothing is silently lost."""
    if not items:
        return
    operations: list[dict[str, Any]] = []
    for pos, item in items.items():
        result = results[pos]
        operations += [
            {"create": {"_index": es.index_name("deadletter", now), "_id": f"{collector.uid}:{result.id}"}},
            {
                "@timestamp": isoformat_utc(now),
                "error": {"type": result.error.split(":", 1)[0], "message": result.error},
                "organization": {"id": collector.organisation.code},
                "agent": {"id": str(collector.uid)},
                "event": {"original": json.dumps(item, ensure_ascii=False)[: settings.INGEST_MAX_EVENT_BYTES]},
            },
        ]
    response = es.client().bulk(operations=operations)
    for pos, entry in zip(items, response["items"], strict=True):
        if entry["create"].get("status") not in (200, 201, 409):
            results[pos].status, results[pos].error = "retry", "dead-letter index unavailable; resend"


def _report_duplicates(collector: Collector, count: int, now: datetime) -> None:
    """One small count per batch that carried resends. The resent events themselves are already safe, so a
    failure here costs a measurement, not data: it is logged and the batch still answers."""
    if not count:
        return
    doc = {"@timestamp": isoformat_utc(now), "organization": {"id": collector.organisation.code},
           "agent": {"id": str(collector.uid)}, "event": {"action": DUPLICATE_ACTION, "count": count}}
    try:
        es.client().index(index=es.index_name(es.INGEST_STATS, now), document=doc, refresh=False)
    except Exception:  # any transport error: see the docstring
        logger.warning("could not record %d duplicate resends of collector %s", count, collector.uid)
