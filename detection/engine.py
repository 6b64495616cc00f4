"""Threshold detection over sliding windows on event time.

A threshold rule fires when ``count`` events matching ``query`` share the same
``group_by`` values within ``window_seconds``. Windows slide (they are not
fixed buckets): a burst straddling a minute boundary is still one burst.
Events that made an alert are consumed (per group, remembered in the
database), so no event ever makes two alerts for the same rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

MAX_GROUPS = 1000
MAX_EVENTS_PER_GROUP = 2000


@dataclass(frozen=True)
class ThresholdParams:
    query: str
    group_by: tuple[str, ...]
    count: int
    window: timedelta

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ThresholdParams:
        group_by = tuple(raw.get("group_by") or ())
        if not 1 <= len(group_by) <= 3:
            raise ValueError("group_by takes one to three fields")
        count, window = int(raw.get("count", 0)), int(raw.get("window_seconds", 0))
        if count < 1 or window < 1:
            raise ValueError("count and window_seconds must be positive")
        return cls(query=str(raw.get("query") or "*"), group_by=group_by, count=count,
                   window=timedelta(seconds=window))


@dataclass
class Burst:
    group: dict[str, str]
    first: datetime
    last: datetime
    count: int
    event_ids: list[str] = field(default_factory=list)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def _filter(params: ThresholdParams, start: datetime, end: datetime, scope: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"filter": [
        {"query_string": {"query": params.query, "analyze_wildcard": True}},
        {"range": {"@timestamp": {"gte": start.isoformat(), "lte": end.isoformat()}}},
        *[{"exists": {"field": f}} for f in params.group_by],
        *scope,
    ]}}


def candidate_groups(es: Elasticsearch, index: str, params: ThresholdParams, start: datetime,
                     end: datetime) -> Iterator[dict[str, str]]:
    """Groups with at least ``count`` matches in the whole range: only they can hold a burst."""
    sources = [{f: {"terms": {"field": f}}} for f in params.group_by]
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": MAX_GROUPS, "sources": sources}
        if after:
            composite["after"] = after
        resp = es.search(index=index, size=0, query=_filter(params, start, end, []),
                         aggs={"g": {"composite": composite}}, ignore_unavailable=True, allow_no_indices=True)
        agg = resp.get("aggregations", {}).get("g")
        if not agg:
            return
        for bucket in agg["buckets"]:
            if bucket["doc_count"] >= params.count:
                yield {k: str(v) for k, v in bucket["key"].items()}
        after = agg.get("after_key")
        if not after or len(agg["buckets"]) < MAX_GROUPS:
            return


def group_timestamps(es: Elasticsearch, index: str, params: ThresholdParams, group: dict[str, str],
                     start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    scope = [{"term": {f: v}} for f, v in group.items()]
    resp = es.search(index=index, size=MAX_EVENTS_PER_GROUP, query=_filter(params, start, end, scope),
                     sort=[{"@timestamp": {"order": "asc"}}, {"_doc": {"order": "asc"}}], source=False,
                     fields=[{"field": "@timestamp"}], ignore_unavailable=True, allow_no_indices=True)
    return [(_parse(hit["fields"]["@timestamp"][0]), f"{hit['_index']}/{hit['_id']}")
            for hit in resp["hits"]["hits"]]


def find_bursts(events: list[tuple[datetime, str]], params: ThresholdParams, group: dict[str, str],
                consumed_until: datetime | None) -> list[Burst]:
    """Slide a window over sorted timestamps; each event belongs to at most one burst."""
    pending = [e for e in events if consumed_until is None or e[0] > consumed_until]
    bursts: list[Burst] = []
    i = 0
    while i + params.count <= len(pending):
        if pending[i + params.count - 1][0] - pending[i][0] > params.window:
            i += 1
            continue
        j = i + params.count - 1
        while j + 1 < len(pending) and pending[j + 1][0] - pending[i][0] <= params.window:
            j += 1
        members = pending[i : j + 1]
        bursts.append(Burst(group=group, first=members[0][0], last=members[-1][0], count=len(members),
                            event_ids=[eid for _, eid in members]))
        i = j + 1
    return bursts
