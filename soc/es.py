"""Elasticsearch: the client, index names, the event template, and search scope.

Province scope for every event search is applied here (``scoped_search``),
nowhere else, exactly as ``Organisation.objects.visible_to`` is for SQL.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from django.conf import settings
from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.serializer import JsonSerializer, NdjsonSerializer

from organisations.selectors import AnyUser, visible_org_codes
from soc.aio import loop_client


def _hosts() -> list[str]:
    # Several nodes may be given, comma-separated; the client balances over them.
    return [url.strip() for url in settings.ELASTICSEARCH_URL.split(",") if url.strip()]


def _decoded(data: bytes) -> Any:
    """orjson, and the standard library for what it refuses (a lone surrogate a hostile event's ``_source`` holds
    escaped, say): the same answers, decoded several times faster."""
    try:
        return orjson.loads(data)
    except ValueError:
        return json.loads(data)


class _Json(JsonSerializer):
    """Answers decoded by orjson: the client's own ``json`` took 8 % of an ingest worker's time decoding the
    answers to its bulks (5,000 items each) under ``bench/load_bench.py``'s capacity phase."""

    def json_loads(self, data: bytes) -> Any:
        return _decoded(data)


class _Ndjson(NdjsonSerializer):
    """A bulk body we built (bytes ending in a newline) goes as it is; the client's own copies it twice."""

    def dumps(self, data: Any) -> bytes:
        if isinstance(data, bytes) and data.endswith(b"\n"):
            return data
        return super().dumps(data)

    def json_loads(self, data: bytes) -> Any:
        return _decoded(data)


# The compatibility mimetypes (``application/vnd.elasticsearch+json`` ...) the client sends and reads take these too.
_OPTIONS: dict[str, Any] = {"request_timeout": 30, "retry_on_timeout": True, "max_retries": 2,
                            "serializers": {_Json.mimetype: _Json(), _Ndjson.mimetype: _Ndjson()}}


@cache
def client() -> Elasticsearch:
    return Elasticsearch(_hosts(), **_OPTIONS)


def async_client() -> AsyncElasticsearch:
    """The running loop's client (``soc.aio``): for async views, which must not wait for Elasticsearch in line."""
    return loop_client("elasticsearch", lambda: AsyncElasticsearch(_hosts(), **_OPTIONS), lambda es: es.close())


def index_name(kind: str, moment: datetime) -> str:
    """One index per day and kind: retention deletes whole old indices."""
    return f"{settings.ES_INDEX_PREFIX}{kind}-{moment.astimezone(UTC):%Y.%m.%d}"


# Events older than the live days go to the back-fill index of the month they arrived in (collectors.ingest):
# its name matches ``events_pattern()``, so they are searched with every other event.
BACKFILL = "backfill"


def backfill_index_name(year: int, month: int) -> str:
    return f"{settings.ES_INDEX_PREFIX}events-{BACKFILL}-{year:04d}.{month:02d}"


def index_day(name: str) -> date | None:
    """The day an index's retention counts from: a daily index's day; a back-fill index's last day of the month
    its events arrived in (so back-filled history is kept as long after its replay as live events are)."""
    suffix = name.rsplit("-", 1)[-1]
    try:
        if name.endswith(f"-{BACKFILL}-{suffix}"):
            start = datetime.strptime(suffix, "%Y.%m").date()
            return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return datetime.strptime(suffix, "%Y.%m.%d").date()
    except ValueError:
        return None


def index_pattern(kind: str) -> str:
    return f"{settings.ES_INDEX_PREFIX}{kind}-*"


def events_pattern() -> str:
    return index_pattern("events")


# A window longer than this many days is searched through the events pattern: naming each day would make a
# request line longer than it saves (and only correlations of weeks, or test runs, ask for such windows).
MAX_NAMED_DAYS = 62


def event_indices(*, start: datetime, end: datetime, time_field: str = "@timestamp",
                  backfill_only: bool = False) -> str:
    """The event indices that can hold an event whose ``time_field`` is in [start, end], comma-joined.

    Searching only these (with ``ignore_unavailable``) instead of every event index keeps a rule's search cost
    independent of how many days are kept or how many history a replay created. Where events go
    (``collectors.ingest``): a live event in the UTC day index of its ``@timestamp``, which is at most
    ``INGEST_BACKFILL_AFTER_DAYS`` days (from the start of the arrival day) before its ``event.ingested``;
    an older one in the back-fill index of its arrival month. So an ``@timestamp`` window needs its own days,
    and back-fill indices only when it reaches past the live days; an ``event.ingested`` window needs the
    days up to the live span before it, and the back-fill indices of its arrival months.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    live_days = settings.INGEST_BACKFILL_AFTER_DAYS
    if time_field == "event.ingested":
        days = _days(start - timedelta(days=live_days + 1), end + timedelta(days=1))
        backfill = [backfill_index_name(y, m) for y, m in _months(start, end)]
    else:
        days = _days(start, end)
        reaches_history = start < datetime.now(UTC) - timedelta(days=live_days)
        backfill = [index_pattern(f"events-{BACKFILL}")] if reaches_history or backfill_only else []
    if backfill_only:
        return ",".join(backfill)
    if len(days) > MAX_NAMED_DAYS:
        return events_pattern()
    return ",".join([index_name("events", datetime(d.year, d.month, d.day, tzinfo=UTC)) for d in days] + backfill)


def _days(start: datetime, end: datetime) -> list[date]:
    if end < start:
        return []
    first, last = start.date(), end.date()
    if (last - first).days > MAX_NAMED_DAYS:
        return [first + timedelta(days=n) for n in range(MAX_NAMED_DAYS + 1)]  # over the limit: the caller widens
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _months(start: datetime, end: datetime) -> list[tuple[int, int]]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# Sigma (and analysts) match strings case-insensitively, but group keys, province codes and
# exports must keep the original case: every dynamic string is an exact keyword with a
# lowercase-normalised ``.lc`` sub-field, and Sigma queries search the sub-field (``caseless``).
CASELESS_SUBFIELD = "lc"
_CASELESS = {CASELESS_SUBFIELD: {"type": "keyword", "normalizer": "lowercase", "ignore_above": 8191}}
_STRING_AS_KEYWORD = {
    "strings": {"match_mapping_type": "string",
                "mapping": {"type": "keyword", "ignore_above": 2048, "fields": _CASELESS}}
}

# ECS fields we search on with a type other than keyword. Everything else is a
# keyword via the dynamic template; the total-fields limit with
# ignore_dynamic_beyond_limit keeps a hostile source from exploding the mapping
# (extra fields stay in _source, unindexed, and the event is still stored).
EVENT_MAPPINGS: dict[str, Any] = {
    "dynamic_templates": [_STRING_AS_KEYWORD],
    "properties": {
        "@timestamp": {"type": "date"},
        "message": {"type": "text", "fields": _CASELESS},
        "event": {"properties": {
            "original": {"type": "text"},
            "ingested": {"type": "date"},
            "created": {"type": "date"},
            "count": {"type": "long"},
            "severity": {"type": "long"},
        }},
        "source": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}}},
        "destination": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}}},
        "client": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}}},
        "server": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}}},
        "host": {"properties": {"ip": {"type": "ip"}}},
        "process": {"properties": {"pid": {"type": "long"}, "parent": {"properties": {"pid": {"type": "long"}}}}},
        "http": {"properties": {"response": {"properties": {
            "status_code": {"type": "long"}, "bytes": {"type": "long"}}}}},
        # Server-owned (collectors.boundary): written by the ingest alone, so mapped strictly. A field the
        # ingest does not write is refused with the event (dead letter), never added to the mapping.
        "organization": {"dynamic": "strict", "properties": {"id": {"type": "keyword"}, "name": {"type": "keyword"}}},
        "agent": {"dynamic": "strict", "properties": {
            "id": {"type": "keyword"}, "name": {"type": "keyword", "fields": _CASELESS}, "type": {"type": "keyword"}}},
        "soc": {"dynamic": "strict", "properties": {
            "clock_offset_seconds": {"type": "float"}, "backfill": {"type": "boolean"}}},
    },
}

def _typed_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        if "properties" in spec:
            found |= _typed_fields(spec["properties"], f"{prefix}{name}.")
        else:
            found[f"{prefix}{name}"] = spec
    return found


_EXPLICIT_FIELDS = _typed_fields(EVENT_MAPPINGS["properties"])


def caseless_field(name: str) -> str:
    """The field to match ``name`` case-insensitively: its ``.lc`` sub-field when it has one.

    Explicitly typed fields (ip, long, date, organization.id) are searched as they are.
    """
    spec = _EXPLICIT_FIELDS.get(name)
    if spec is None or CASELESS_SUBFIELD in spec.get("fields", {}):
        return f"{name}.{CASELESS_SUBFIELD}"
    return name


EVENT_SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "refresh_interval": "1s",
    "mapping.total_fields.limit": 2000,
    "mapping.total_fields.ignore_dynamic_beyond_limit": True,
    "mapping.depth.limit": 20,
}

DEADLETTER_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "@timestamp": {"type": "date"},
        "error": {"properties": {"type": {"type": "keyword"}, "message": {"type": "text"}}},
        "organization": {"properties": {"id": {"type": "keyword"}}},
        "agent": {"properties": {"id": {"type": "keyword"}}},
        "event": {"properties": {"original": {"type": "text", "index": False}}},
    },
}

# Counts the ingest keeps about what it received (e.g. resends of events already stored), per batch. The kind's
# name must not be a prefix's continuation ("ingest-" is a bench prefix): templates may not overlap.
INGEST_STATS = "ingeststats"
INGEST_STATS_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "@timestamp": {"type": "date"},
        "organization": {"properties": {"id": {"type": "keyword"}}},
        "agent": {"properties": {"id": {"type": "keyword"}}},
        "event": {"properties": {"action": {"type": "keyword"}, "count": {"type": "long"}}},
    },
}


# Alerts (detection.alerts): one document per alert, searched and counted by rule, province, entity and time.
# ``group`` holds the rule's group-by values (keywords); ``details`` is what the kind explains, kept unindexed.
ALERT_MAPPINGS: dict[str, Any] = {
    "dynamic_templates": [_STRING_AS_KEYWORD],
    "properties": {
        "@timestamp": {"type": "date"},
        "rule": {"properties": {"id": {"type": "keyword"}, "name": {"type": "keyword"},
                                "kind": {"type": "keyword"}, "version": {"type": "long"}}},
        "organization": {"properties": {"id": {"type": "keyword"}}},
        "alert": {"properties": {"first": {"type": "date"}, "last": {"type": "date"}, "count": {"type": "long"},
                                 "severity": {"type": "keyword"}}},
        "entity": {"properties": {"kind": {"type": "keyword"}, "value": {"type": "keyword"}}},
        "event_refs": {"type": "keyword"},
        "details": {"type": "object", "enabled": False},
    },
}


def alerts_index_name(first: datetime, now: datetime) -> str:
    """An alert's index: the day of its first event; for an alert on history (a back-fill), the month it was
    raised in, so a replay of years of logs adds one index, not one per day it covers."""
    if first < now - timedelta(days=settings.INGEST_BACKFILL_AFTER_DAYS + 1):
        return f"{settings.ES_INDEX_PREFIX}alerts-{BACKFILL}-{now.astimezone(UTC):%Y.%m}"
    return index_name("alerts", first)


def ensure_templates(es: Elasticsearch | None = None) -> None:
    """Install (or update) the index templates; idempotent, run at start-up and in tests."""
    es = es or client()
    replicas = {"number_of_replicas": settings.ES_REPLICAS}
    shards = {"number_of_shards": settings.ES_SHARDS}
    es.indices.put_index_template(
        name=f"{settings.ES_INDEX_PREFIX}events",
        index_patterns=[events_pattern()],
        template={"settings": {**EVENT_SETTINGS, **shards, **replicas}, "mappings": EVENT_MAPPINGS},
        priority=100,
    )
    es.indices.put_index_template(
        name=f"{settings.ES_INDEX_PREFIX}deadletter",
        index_patterns=[index_pattern("deadletter")],
        template={"settings": {"number_of_shards": 1, **replicas},
                  "mappings": DEADLETTER_MAPPINGS},
        priority=100,
    )
    # Alerts and evidence ask for the same replicas as events: one node holds no replica, so the cluster stays green.
    es.indices.put_index_template(
        name=f"{settings.ES_INDEX_PREFIX}alerts",
        index_patterns=[index_pattern("alerts")],
        template={"settings": {"number_of_shards": 1, **replicas}, "mappings": ALERT_MAPPINGS},
        priority=100,
    )
    es.indices.put_index_template(
        name=f"{settings.ES_INDEX_PREFIX}evidence",
        index_patterns=[index_pattern("evidence")],
        template={"settings": {**EVENT_SETTINGS, **shards, **replicas}, "mappings": EVENT_MAPPINGS},
        priority=100,
    )
    es.indices.put_index_template(
        name=f"{settings.ES_INDEX_PREFIX}{INGEST_STATS}",
        index_patterns=[index_pattern(INGEST_STATS)],
        template={"settings": {"number_of_shards": 1, **replicas}, "mappings": INGEST_STATS_MAPPINGS},
        priority=100,
    )


def scope_filter(org_codes: list[str] | None) -> list[dict[str, Any]]:
    """Filter clauses for an event search limited to these organisations (None: all)."""
    if org_codes is None:
        return []
    return [{"terms": {"organization.id": org_codes}}]


def scoped_search(*, user: AnyUser, query: dict[str, Any], pit_id: str | None = None, indices: str = "",
                  **params: Any) -> Any:
    """Search events as ``user``: the province scope and the time limit are added to every search here.

    With ``pit_id`` the search reads that point in time (stable paging with
    search_after); the scope filter is applied all the same, so a point in time
    opened for one user shows another only what that other user may see.
    Past SOC_SEARCH_TIMEOUT_SECONDS the shards stop and answer with what they
    found (``timed_out``: true), and the client stops waiting soon after.
    """
    scope = scope_filter(visible_org_codes(user))
    body_query = {"bool": {"filter": [*scope, query]}}
    params.setdefault("timeout", f"{settings.SOC_SEARCH_TIMEOUT_SECONDS}s")
    if pit_id:
        return user_search_client().search(pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}, query=body_query,
                                           **params)
    return user_search_client().search(index=indices or events_pattern(), query=body_query, ignore_unavailable=True,
                                       allow_no_indices=True, **params)


def user_search_client() -> Elasticsearch:
    """The client for searches a user asked for: it waits a little longer than the server-side limit, and never
    retries on a timeout (a costly search sent three times costs three times)."""
    return client().options(request_timeout=settings.SOC_SEARCH_TIMEOUT_SECONDS + 5, retry_on_timeout=False)


PIT_KEEP_ALIVE = "5m"


def events_pit_open() -> str | None:
    """A point in time over all event indices, or None when there are none yet. The caller closes it
    (``events_pit_close``) when done; until then it holds the indices' segments for PIT_KEEP_ALIVE."""
    if not client().indices.exists(index=events_pattern(), allow_no_indices=False):
        return None
    return str(user_search_client().open_point_in_time(index=events_pattern(), keep_alive=PIT_KEEP_ALIVE,
                                                       ignore_unavailable=True)["id"])


def events_pit_close(pit_id: str) -> None:
    client().options(ignore_status=404).close_point_in_time(id=pit_id)
