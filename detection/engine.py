"""Rule evaluation over sliding windows on event time: pure reads, no writes.

Every kind turns one window of events into ``Finding``s; writing alerts and
incidents is the caller's job (``detection.services``), and test mode simply
does not write. Threshold and sequence live here; new term and silence in
``detection.terms``; Sigma and indicator matches in ``detection.matching``.

A threshold rule fires when ``count`` events matching ``query`` (or ``count``
distinct values of ``distinct_field``) share the same ``group_by`` values
within ``window_seconds``. Windows slide (they are not fixed buckets): a burst
straddling a minute boundary is still one burst. Events that made an alert are
consumed (per group, remembered in the database by the caller), so no event
ever makes two alerts for the same rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

Query = dict[str, Any]
MAX_GROUPS = 1000
MAX_EVENTS_PER_GROUP = 2000
ORG = "organization.id"


@dataclass(frozen=True)
class Window:
    """The slice of events one run reads: a time range plus the rule's scope and exceptions."""

    start: datetime
    end: datetime
    time_field: str = "@timestamp"
    scope: tuple[Query, ...] = ()
    exceptions: tuple[Query, ...] = ()
    # Single-event rules only: of the window's events, those that arrived at or after ``arrived_after`` or are
    # dated after ``fresh_after`` (the previous run's end): the others were read by an earlier run.
    arrived_after: datetime | None = None
    fresh_after: datetime | None = None
    # Aggregation rules: (arrived after, dated after) of the previous run; a group none of whose events is newer
    # than that was evaluated then, on the same events, and is not evaluated again (``is_new``).
    recheck: tuple[datetime, datetime] | None = None

    def query(self, *clauses: Query, start: datetime | None = None, end: datetime | None = None) -> Query:
        rng = {"gte": (start or self.start).isoformat(), "lte": (end or self.end).isoformat()}
        body: dict[str, Any] = {"filter": [{"range": {self.time_field: rng}}, *self.unread(), *self.scope,
                                           *clauses]}
        if self.exceptions:
            body["must_not"] = list(self.exceptions)
        return {"bool": body}

    def newness_aggs(self) -> Query:
        """Sub-aggregations of a group bucket that ``is_new`` reads."""
        if self.recheck is None:
            return {}
        return {"arrived": {"max": {"field": "event.ingested"}}, "latest": {"max": {"field": self.time_field}}}

    def is_new(self, bucket: dict[str, Any]) -> bool:
        """Whether a group's bucket (with ``newness_aggs``) holds an event the previous run could not see."""
        if self.recheck is None:
            return True
        arrived, latest = (bucket.get(name, {}).get("value") for name in ("arrived", "latest"))
        return ((arrived is not None and arrived >= self.recheck[0].timestamp() * 1000)
                or (latest is not None and latest > self.recheck[1].timestamp() * 1000))

    def unread(self) -> list[Query]:
        if self.arrived_after is None or self.fresh_after is None:
            return []
        return [{"bool": {"should": [{"range": {"event.ingested": {"gte": self.arrived_after.isoformat()}}},
                                     {"range": {self.time_field: {"gt": self.fresh_after.isoformat()}}}],
                          "minimum_should_match": 1}}]


@dataclass
class Finding:
    """What an alert will say: which group, when, how many events, and which ones."""

    group: dict[str, str]  # always holds organization.id
    first: datetime
    last: datetime
    count: int
    event_refs: list[str] = field(default_factory=list)
    key: str = ""  # what makes it unique within the rule and group (first event, first time...)
    details: dict[str, Any] = field(default_factory=dict)


def parse_time(ts: str | int | float) -> datetime:
    if isinstance(ts, int | float) or ts.isdigit():
        return datetime.fromtimestamp(int(ts) / 1000, UTC)
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def lucene(query: str) -> Query:
    return {"query_string": {"query": query or "*", "analyze_wildcard": True}}


def exception_clauses(exceptions: list[dict[str, Any]]) -> tuple[Query, ...]:
    """Each exception is a field and the values that never alert on it."""
    return tuple({"terms": {str(e["field"]): [str(v) for v in e["values"]]}} for e in exceptions)


def composite_keys(es: Elasticsearch, index: str, query: Query, fields: tuple[str, ...],
                   sub_aggs: Query | None = None) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Every distinct combination of ``fields`` among matching events, with its bucket."""
    sources = [{f: {"terms": {"field": f}}} for f in fields]
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": MAX_GROUPS, "sources": sources}
        if after:
            composite["after"] = after
        agg: Query = {"composite": composite}
        if sub_aggs:
            agg["aggs"] = sub_aggs
        resp = es.search(index=index, size=0, query=query, aggs={"g": agg}, ignore_unavailable=True,
                         allow_no_indices=True)
        buckets = resp.get("aggregations", {}).get("g")
        if not buckets:
            return
        for bucket in buckets["buckets"]:
            yield {k: str(v) for k, v in bucket["key"].items()}, bucket
        after = buckets.get("after_key")
        if not after or len(buckets["buckets"]) < MAX_GROUPS:
            return


GroupEvents = list[tuple[datetime, str, str | None]]
# Groups whose events one _msearch asks for: one request instead of one per attacker in a wave.
GROUPS_PER_MSEARCH = 100


# A group's time bounds for ``groups_events``: (after, exclusive; until, inclusive), either open.
Bounds = tuple[datetime | None, datetime | None]


def groups_events(es: Elasticsearch, index: str, query: Query, groups: list[dict[str, str]], time_field: str,
                  value_field: str | None = None, bounds: list[Bounds] | None = None) -> list[GroupEvents]:
    """(time, "<index>/<id>", value) of each group's events in time order, from doc values only, within the
    group's ``bounds`` if given (an attack's address has thousands of events: only those that can still count
    are read), ``GROUPS_PER_MSEARCH`` groups a request; a failed search raises."""
    wanted: list[Any] = [{"field": time_field, "format": "strict_date_optional_time"}]
    if value_field:
        wanted.append(value_field)
    found: list[GroupEvents] = []
    for start in range(0, len(groups), GROUPS_PER_MSEARCH):
        body: list[dict[str, Any]] = []
        for n in range(start, min(start + GROUPS_PER_MSEARCH, len(groups))):
            clauses = [{"term": {f: v}} for f, v in groups[n].items()]
            clauses += _bounded(time_field, bounds[n]) if bounds else []
            body += [{"index": index, "ignore_unavailable": True, "allow_no_indices": True},
                     {"size": MAX_EVENTS_PER_GROUP, "query": {"bool": {"filter": [query, *clauses]}},
                      "sort": [{time_field: {"order": "asc"}}, {"_doc": {"order": "asc"}}], "_source": False,
                      "fields": wanted}]
        found += [_group_hits(answer, time_field, value_field) for answer in es.msearch(searches=body)["responses"]]
    return found


def _bounded(time_field: str, bounds: Bounds) -> list[Query]:
    after, until = bounds
    rng = ({"gt": after.isoformat()} if after else {}) | ({"lte": until.isoformat()} if until else {})
    return [{"range": {time_field: rng}}] if rng else []


def _group_hits(answer: dict[str, Any], time_field: str, value_field: str | None) -> GroupEvents:
    if "error" in answer:
        raise RuntimeError(f"group search failed: {str(answer['error'].get('reason', answer['error']))[:500]}")
    out: GroupEvents = []
    for hit in answer["hits"]["hits"]:
        fields = hit.get("fields", {})
        value = fields.get(value_field, [None])[0] if value_field else None
        out.append((parse_time(fields[time_field][0]), f"{hit['_index']}/{hit['_id']}",
                    None if value is None else str(value)))
    return out


def whole_numbers(raw: dict[str, Any], **defaults: int) -> list[int]:
    """Rule parameters ``defaults`` names as integers, in that order (the default where one is absent)."""
    try:
        return [int(raw.get(name, default)) for name, default in defaults.items()]
    except (TypeError, ValueError) as exc:
        names = " and ".join(defaults)
        raise ValueError(f"{names} must be {'whole numbers' if len(defaults) > 1 else 'a whole number'}") from exc


def positive_numbers(raw: dict[str, Any], **defaults: int) -> list[int]:
    """``whole_numbers``, each at least 1."""
    numbers = whole_numbers(raw, **defaults)
    if min(numbers) < 1:
        raise ValueError(f"{' and '.join(defaults)} must be positive")
    return numbers


def field_names(raw: dict[str, Any], name: str, default: tuple[str, ...] = (), what: str = "") -> tuple[str, ...]:
    """The rule parameter ``name``: one to three field names (``what`` says what they are for, in the error)."""
    fields = tuple(str(f) for f in raw.get(name) or default)
    if not 1 <= len(fields) <= 3:
        raise ValueError(f"{name} takes one to three fields{what}")
    return fields


def by_province(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The grouping with the province first: an attacker seen in two provinces is two findings."""
    return (ORG, *[f for f in fields if f != ORG])


# --- threshold -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ThresholdParams:
    query: str
    group_by: tuple[str, ...]
    count: int
    window: timedelta
    distinct_field: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ThresholdParams:
        group_by = field_names(raw, "group_by")
        count, window = positive_numbers(raw, count=0, window_seconds=0)
        distinct = raw.get("distinct_field") or None
        return cls(query=str(raw.get("query") or "*"), group_by=group_by, count=count,
                   window=timedelta(seconds=window), distinct_field=str(distinct) if distinct else None)

    def with_org(self) -> ThresholdParams:
        """Group by province too: an attacker seen in two provinces is two findings."""
        if ORG in self.group_by:
            return self
        return ThresholdParams(self.query, (ORG, *self.group_by), self.count, self.window, self.distinct_field)


@dataclass
class Burst:
    group: dict[str, str]
    first: datetime
    last: datetime
    count: int
    event_ids: list[str] = field(default_factory=list)


def find_bursts(events: list[tuple[datetime, str]] | list[tuple[datetime, str, str | None]],
                params: ThresholdParams, group: dict[str, str], consumed_until: datetime | None) -> list[Burst]:
    """Slide a window over sorted events; each event belongs to at most one burst."""
    pending = [(e[0], e[1], e[2] if len(e) > 2 else None) for e in events
               if consumed_until is None or e[0] > consumed_until]
    bursts: list[Burst] = []
    i = 0
    while i < len(pending):
        j = _burst_end(pending, i, params)
        if j is None:
            i += 1
            continue
        members = pending[i : j + 1]
        bursts.append(Burst(group=group, first=members[0][0], last=members[-1][0],
                            count=_measure(members, params), event_ids=[eid for _, eid, _ in members]))
        i = j + 1
    return bursts


def _measure(members: list[tuple[datetime, str, str | None]], params: ThresholdParams) -> int:
    if params.distinct_field:
        return len({v for _, _, v in members if v is not None})
    return len(members)


def _burst_end(pending: list[tuple[datetime, str, str | None]], i: int, params: ThresholdParams) -> int | None:
    """Last index of the burst starting at ``i`` (the window extended while it holds), or None."""
    limit = pending[i][0] + params.window
    j = i
    while j + 1 < len(pending) and pending[j + 1][0] <= limit:
        j += 1
    if _measure(pending[i : j + 1], params) < params.count:
        return None
    return j


def candidate_groups(es: Elasticsearch, index: str, params: ThresholdParams,
                     window: Window) -> Iterator[dict[str, str]]:
    """Groups with at least ``count`` matches in the whole range: only they can hold a burst."""
    query = window.query(lucene(params.query), *[{"exists": {"field": f}} for f in params.group_by])
    sub = {"d": {"cardinality": {"field": params.distinct_field}}} if params.distinct_field else {}
    for group, bucket in composite_keys(es, index, query, params.group_by, sub | window.newness_aggs() or None):
        measure = bucket["d"]["value"] if params.distinct_field else bucket["doc_count"]
        if measure >= params.count and window.is_new(bucket):
            yield group


def evaluate_threshold(es: Elasticsearch, index: str, raw: dict[str, Any], window: Window,
                       consumed: Callable[[list[str]], dict[str, datetime]]) -> list[Finding]:
    """Bursts per group; ``consumed(group keys)`` says up to when each group's events already alerted (a key
    left out: none did), asked once for all candidate groups."""
    params = ThresholdParams.from_dict(raw).with_org()
    findings: list[Finding] = []
    query = window.query(lucene(params.query))
    groups = list(candidate_groups(es, index, params, window))
    until = consumed([group_key(group) for group in groups]) if groups else {}
    # Events up to a group's consumed-until are in an alert already and belong to no other burst.
    bounds: list[Bounds] = [(until.get(group_key(group)), None) for group in groups]
    for group, events in zip(groups, groups_events(es, index, query, groups, window.time_field,
                                                   params.distinct_field, bounds), strict=True):
        for burst in find_bursts(events, params, group, until.get(group_key(group))):
            findings.append(Finding(group=group, first=burst.first, last=burst.last, count=burst.count,
                                    event_refs=burst.event_ids, key=burst.first.isoformat(),
                                    details={"hits": len(events)}))
    return findings


def group_key(group: dict[str, str]) -> str:
    return json.dumps(group, sort_keys=True)


# --- sequence: A then B on the same key within a window ----------------------------------------------

@dataclass(frozen=True)
class SequenceParams:
    first: str
    then: str
    by: tuple[str, ...]
    window: timedelta
    first_count: int = 1

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SequenceParams:
        by = field_names(raw, "by")
        if not raw.get("first") or not raw.get("then"):
            raise ValueError("a sequence needs a 'first' and a 'then' query")
        window, first_count = positive_numbers(raw, window_seconds=0, first_count=1)
        return cls(str(raw["first"]), str(raw["then"]), by_province(by),
                   timedelta(seconds=window), first_count)


def evaluate_sequence(es: Elasticsearch, index: str, raw: dict[str, Any], window: Window) -> list[Finding]:
    """Each B event preceded, within the window, by at least ``first_count`` A events of the same key.

    A events that led to a finding are used up, so one run of failures explains one success.
    """
    params = SequenceParams.from_dict(raw)
    then_q = window.query(lucene(params.then), *[{"exists": {"field": f}} for f in params.by])
    first_q = window.query(lucene(params.first), start=window.start - params.window)
    findings: list[Finding] = []
    groups = list(_sequence_candidates(es, index, params, window))
    thens = groups_events(es, index, then_q, groups, window.time_field)
    # Only A events within the window before one of its group's B events can count (a success is rare, an
    # attacking address's failures are thousands).
    bounds: list[Bounds] = [(then[0][0] - params.window - timedelta(microseconds=1), then[-1][0]) if then
                            else (None, None) for then in thens]
    firsts = groups_events(es, index, first_q, groups, window.time_field, bounds=bounds)
    for group, first, then in zip(groups, firsts, thens, strict=True):
        findings += _sequence_matches(params, group, first, then)
    return findings


def _sequence_candidates(es: Elasticsearch, index: str, params: SequenceParams,
                         window: Window) -> Iterator[dict[str, str]]:
    """Groups with a B event in the window and at least ``first_count`` A events before its end, and with an
    event the previous run could not see (a late A can complete an older B), from one aggregation over both:
    the addresses that only fail (an attack) and those that only succeed (the users) are never read."""
    either = {"bool": {"should": [lucene(params.first), lucene(params.then)], "minimum_should_match": 1}}
    query = window.query(either, *[{"exists": {"field": f}} for f in params.by], start=window.start - params.window)
    counts = {"a": {"filter": lucene(params.first)},
              "b": {"filter": {"bool": {"filter": [lucene(params.then), {"range": {
                  window.time_field: {"gte": window.start.isoformat()}}}]}}}}
    for group, bucket in composite_keys(es, index, query, params.by, counts | window.newness_aggs()):
        if bucket["b"]["doc_count"] and bucket["a"]["doc_count"] >= params.first_count and window.is_new(bucket):
            yield group


def _sequence_matches(params: SequenceParams, group: dict[str, str], firsts: list[tuple[datetime, str, Any]],
                      thens: list[tuple[datetime, str, Any]]) -> list[Finding]:
    findings, used = [], 0
    for moment, ref, _ in thens:
        before = [f for f in firsts[used:] if moment - params.window <= f[0] <= moment]
        if len(before) < params.first_count:
            continue
        findings.append(Finding(group=group, first=before[0][0], last=moment, count=len(before) + 1,
                                event_refs=[*[r for _, r, _ in before][-99:], ref], key=ref))
        used = firsts.index(before[-1]) + 1
    return findings
