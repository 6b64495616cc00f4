"""Sigma correlations evaluated over SLIDING windows with core Elasticsearch APIs only.

The backend's correlation output (EQL / ES|QL, fixed buckets) does not run on our cluster, and fixed
buckets miss a burst that straddles a bucket boundary. Instead:

1. per referenced rule, a composite aggregation counts events per group-by key over [start, end],
   and groups that cannot possibly satisfy the condition are dropped (count-style ``gt``/``gte``
   conditions need at least N events; temporal ones need every rule present);
2. the candidate groups' events are scanned (point in time + search_after, doc values only:
   timestamp, group-by and value fields) in timestamp order;
3. in Python, a window of ``timespan`` is anchored at every event of a group: every window that can
   satisfy a condition can be shifted to start at its earliest event, so this finds all of them.

A window is half-open: ``[t, t + timespan)``. After a window fires, the next window starts after its
last event, so one burst yields non-overlapping matches rather than one per event.
"""

from __future__ import annotations

import logging
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from detection.sigma.convert import lucene_filter
from detection.sigma.correlation_spec import CorrelatedRule, CorrelationSpec

logger = logging.getLogger(__name__)

Query = dict[str, Any]
GroupKey = tuple[Any, ...]
PAGE = 1000

OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gte": operator.ge, "gt": operator.gt, "lte": operator.le,
    "lt": operator.lt, "eq": operator.eq, "neq": operator.ne,
}


@dataclass(frozen=True)
class CorrelationMatch:
    group: dict[str, Any]  # Sigma group-by name -> value (lowercased by the index normalizer)
    window_start: datetime  # first contributing event
    window_end: datetime  # last contributing event
    count: int  # events (event_count), distinct values (value_count), rules seen (temporal*)
    rule_counts: dict[str, int] = field(default_factory=dict)  # events per referenced rule


@dataclass(frozen=True, order=True)
class _Event:
    ts: int  # epoch milliseconds
    rule: int  # index into spec.rules
    value: Any = field(default=None, compare=False)


def evaluate_correlation(
    es: Any,
    index: str,
    correlation: CorrelationSpec,
    start: datetime,
    end: datetime,
    *,
    scope: Sequence[Query] = (),
    new_since: datetime | None = None,
    max_events_per_rule: int = 200_000,
    time_field: str = "@timestamp",
) -> list[CorrelationMatch]:
    """Matches of ``correlation`` among events of ``index`` in [start, end].

    A scheduler calls it over [checkpoint - timespan, now - ingest delay] and passes
    ``new_since=checkpoint`` so windows already reported by the previous run are not repeated.
    ``scope`` are extra filter clauses (e.g. the caller's tenancy filter on organization.id).
    ``time_field`` is the clock everything runs on (range, order, window span): ``event.ingested``
    for rules on ingest time, so an event stamped long ago but stored now is still correlated.
    """
    base = [{"range": {time_field: {"gte": start.isoformat(), "lte": end.isoformat()}}}, *scope]
    candidates = _candidate_groups(es, index, correlation, base)
    if not candidates:
        return []
    events = _scan_events(es, index, correlation, base, candidates, max_events_per_rule, time_field)
    matches = [m for key, evs in events.items() for m in _slide(correlation, key, sorted(evs))]
    if new_since is not None:
        matches = [m for m in matches if m.window_end >= new_since]
    return sorted(matches, key=lambda m: (m.window_start, str(m.group)))


# --- step 1: prune groups with composite aggregations --------------------------------------------

def _candidate_groups(es: Any, index: str, spec: CorrelationSpec, base: list[Query]) -> set[GroupKey]:
    per_rule = [_group_counts(es, index, rule, base) for rule in spec.rules]
    keys = set().union(*per_rule)
    if spec.op not in ("gt", "gte"):
        return keys  # "fewer than N" style conditions: any group may hold a matching window
    needed = spec.count + (1 if spec.op == "gt" else 0)
    if spec.type in ("temporal", "temporal_ordered"):
        return {k for k in keys if sum(k in counts for counts in per_rule) >= needed}
    # event_count sums all rules; value_count has at most one distinct value per event.
    return {k for k in keys if sum(counts.get(k, 0) for counts in per_rule) >= needed}


# ``index`` names the days a window needs (soc.es.event_indices); a day without events has no index.
MISSING_OK = {"ignore_unavailable": True, "allow_no_indices": True}


def _group_counts(es: Any, index: str, rule: CorrelatedRule, base: list[Query]) -> dict[GroupKey, int]:
    query = {"bool": {"filter": [*base, lucene_filter(rule.lucene)]}}
    if not rule.group_fields:
        total = es.count(index=index, query=query, **MISSING_OK)["count"]
        return {(): total} if total else {}
    sources = [{f"g{i}": {"terms": {"field": name}}} for i, name in enumerate(rule.group_fields)]
    counts: dict[GroupKey, int] = {}
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"sources": sources, "size": PAGE}
        if after:
            composite["after"] = after
        resp = es.search(index=index, size=0, query=query, aggs={"groups": {"composite": composite}}, **MISSING_OK)
        # No aggregations at all when none of the window's indices exists yet (the first minutes of a UTC day).
        agg = resp.get("aggregations", {}).get("groups") or {"buckets": []}
        for bucket in agg["buckets"]:
            counts[tuple(bucket["key"][f"g{i}"] for i in range(len(sources)))] = bucket["doc_count"]
        after = agg.get("after_key")
        if not agg["buckets"] or after is None:
            return counts


# --- step 2: scan the candidates' events in time order -------------------------------------------

def _scan_events(
    es: Any, index: str, spec: CorrelationSpec, base: list[Query], candidates: set[GroupKey], limit: int,
    time_field: str,
) -> dict[GroupKey, list[_Event]]:
    events: dict[GroupKey, list[_Event]] = {}
    pit = es.open_point_in_time(index=index, keep_alive="2m", ignore_unavailable=True)["id"]
    try:
        for position, rule in enumerate(spec.rules):
            for key, event in _rule_events(es, pit, rule, position, base, candidates, limit, time_field):
                if key in candidates:
                    events.setdefault(key, []).append(event)
    finally:
        es.close_point_in_time(id=pit)
    return events


def _rule_events(
    es: Any, pit: str, rule: CorrelatedRule, position: int, base: list[Query],
    candidates: set[GroupKey], limit: int, time_field: str,
) -> Iterator[tuple[GroupKey, _Event]]:
    filters = [*base, lucene_filter(rule.lucene), *_candidate_filter(rule, candidates)]
    wanted = [{"field": time_field, "format": "epoch_millis"}, *rule.group_fields]
    if rule.value_field:
        wanted.append(rule.value_field)
    seen, after = 0, None
    while seen < limit:
        page = es.search(
            pit={"id": pit, "keep_alive": "2m"}, size=PAGE, query={"bool": {"filter": filters}},
            sort=[{time_field: "asc"}, {"_shard_doc": "asc"}], source=False, fields=wanted,
            track_total_hits=False, **({"search_after": after} if after else {}),
        )
        hits = page["hits"]["hits"]
        for hit in hits:
            yield _hit_to_event(hit, rule, position, time_field)
        seen += len(hits)
        if len(hits) < PAGE:
            return
        after = hits[-1]["sort"]
    logger.warning("correlation scan of rule %s stopped at %d events", rule.name, limit)


def _candidate_filter(rule: CorrelatedRule, candidates: set[GroupKey]) -> list[Query]:
    # Narrow the scan by the first group-by field; the exact key is checked in Python.
    if not rule.group_fields or len(candidates) > 10_000:
        return []
    return [{"terms": {rule.group_fields[0]: sorted({str(key[0]) for key in candidates})}}]


def _hit_to_event(hit: dict[str, Any], rule: CorrelatedRule, position: int,
                  time_field: str) -> tuple[GroupKey, _Event]:
    fields = hit.get("fields", {})
    key = tuple(_first(fields.get(name)) for name in rule.group_fields)
    value = _first(fields.get(rule.value_field)) if rule.value_field else None
    return key, _Event(int(float(_first(fields[time_field]))), position, value)


def _first(values: list[Any] | None) -> Any:
    return values[0] if values else None


# --- step 3: slide the window --------------------------------------------------------------------

def _slide(spec: CorrelationSpec, key: GroupKey, events: list[_Event]) -> Iterator[CorrelationMatch]:
    span_ms = spec.timespan_seconds * 1000
    anchor = 0
    while anchor < len(events):
        window = _window_at(spec, events, anchor, span_ms)
        if window is None:
            anchor += 1
            continue
        yield _match(spec, key, window)
        last_ts = window[-1].ts
        while anchor < len(events) and events[anchor].ts <= last_ts:
            anchor += 1


def _window_at(spec: CorrelationSpec, events: list[_Event], anchor: int, span_ms: int) -> list[_Event] | None:
    """The events of the window starting at ``events[anchor]`` if the condition holds there."""
    limit = events[anchor].ts + span_ms
    window = _take_until(events, anchor, limit)
    if spec.type == "temporal_ordered":
        return _ordered_window(spec, window)
    return window if OPERATORS[spec.op](_measure(spec, window), spec.count) else None


def _take_until(events: list[_Event], anchor: int, limit: int) -> list[_Event]:
    end = anchor
    while end < len(events) and events[end].ts < limit:
        end += 1
    return events[anchor:end]


def _measure(spec: CorrelationSpec, window: list[_Event]) -> int:
    if spec.type == "event_count":
        return len(window)
    if spec.type == "value_count":
        return len({e.value for e in window if e.value is not None})
    return len({e.rule for e in window})  # temporal: distinct referenced rules present


def _ordered_window(spec: CorrelationSpec, window: list[_Event]) -> list[_Event] | None:
    """Rules 0..n-1 in this order, starting with the anchor; greedy earliest is optimal."""
    if window[0].rule != 0:
        return None
    step, chain = 1, [window[0]]
    for event in window[1:]:
        if step < len(spec.rules) and event.rule == step and event.ts >= chain[-1].ts:
            chain.append(event)
            step += 1
    if not OPERATORS[spec.op](step, spec.count):
        return None
    return [e for e in window if e.ts <= chain[-1].ts]


def _match(spec: CorrelationSpec, key: GroupKey, window: list[_Event]) -> CorrelationMatch:
    per_rule = Counter(e.rule for e in window)
    return CorrelationMatch(
        group=dict(zip(spec.group_by, key, strict=True)),
        window_start=datetime.fromtimestamp(window[0].ts / 1000, UTC),
        window_end=datetime.fromtimestamp(window[-1].ts / 1000, UTC),
        count=_measure(spec, window),
        rule_counts={spec.rules[i].name: n for i, n in sorted(per_rule.items())},
    )
