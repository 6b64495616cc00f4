"""Reads for the console. Event searches go through ``soc.es.scoped_search`` only."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from elasticsearch import ApiError, TransportError

from console import pits
from console.events import Event
from console.models import SavedSearch
from console.search import EventSearch, SearchError
from organisations.selectors import AnyUser
from soc import es


@dataclass
class Bucket:
    start: datetime
    count: int


@dataclass
class EventPage:
    events: list[Event] = field(default_factory=list)
    total: int = 0
    histogram: list[Bucket] = field(default_factory=list)
    pit_id: str | None = None
    next_after: str | None = None
    # The search hit SOC_SEARCH_TIMEOUT_SECONDS: what is shown is what the shards found until then.
    partial: bool = False


def event_search_page(*, user: AnyUser, search: EventSearch, size: int = 50) -> EventPage:
    """One page of events, newest first, with the histogram of all matching hits.

    The first page opens a point in time; it stays open for the next pages only while there are more, within the
    per-user bound of ``console.pits``.
    """
    if search.pit_id and not pits.pit_is_kept(user=user, pit_id=search.pit_id):
        raise SearchError(_("These results have expired; search again."))
    _check_sortable(search)
    pit_id = search.pit_id or es.events_pit_open()
    if pit_id is None:
        return EventPage()
    aggs = {"over_time": {"date_histogram": {
        "field": "@timestamp", "fixed_interval": search.interval(), "min_doc_count": 0,
        "extended_bounds": {"min": search.start.isoformat(), "max": search.end.isoformat()}}}}
    try:
        response = _search(user=user, search=search, pit_id=pit_id, size=size, aggs=aggs, track_total_hits=True)
    except SearchError:
        pits.pit_release(user=user, pit_id=pit_id)
        raise
    page = _page(response, size=size, pit_id=pit_id)
    if page.next_after:
        pits.pit_keep(user=user, pit_id=str(page.pit_id), replacing=pit_id)
    else:
        pits.pit_release(user=user, pit_id=str(page.pit_id), replacing=pit_id)
    return page


def _check_sortable(search: EventSearch) -> None:
    """A sort on free text or on a group of fields would fail in Elasticsearch: say so in words first.

    A field no event of the range has is allowed (every event sorts as missing), so that the answer never tells
    a province which fields only another province's events carry.
    """
    if search.sort is None or search.sort[0] == "@timestamp":
        return
    try:
        caps = es.client().field_caps(index=es.event_indices(start=search.start, end=search.end),
                                      fields=search.sort[0], include_unmapped=False, ignore_unavailable=True,
                                      allow_no_indices=True)["fields"].get(search.sort[0], {})
    except (ApiError, TransportError) as exc:
        raise SearchError(_("The event store did not answer; try again in a moment.")) from exc
    if any(not spec.get("aggregatable") for spec in caps.values()):
        raise SearchError(_("Events cannot be sorted by %(field)s: it is free text or a group of fields.")
                          % {"field": search.sort[0]})


def _page(response: Any, *, size: int, pit_id: str) -> EventPage:
    hits = response["hits"]["hits"]
    return EventPage(
        events=[Event.from_hit(hit) for hit in hits],
        total=response["hits"]["total"]["value"],
        histogram=[Bucket(datetime.fromtimestamp(b["key"] / 1000, UTC), b["doc_count"])
                   for b in response["aggregations"]["over_time"]["buckets"]],
        pit_id=response.get("pit_id", pit_id),
        next_after=json.dumps(hits[-1]["sort"]) if len(hits) == size else None,
        partial=bool(response.get("timed_out")),
    )


def event_iter(*, user: AnyUser, search: EventSearch, limit: int, page_size: int = 1000) -> Iterator[Event]:
    """Every matching event, newest first, up to ``limit``; for exports.

    Closes its point in time when exhausted, failed or closed early (``close()``; the export's response closes it
    when the download ends or is abandoned). A page that hit the time limit raises SearchError after its events,
    as the rest cannot be told from what is missing.
    """
    pit_id = es.events_pit_open()
    if pit_id is None:
        return
    after: list[Any] | None = None
    sent = 0
    try:
        while sent < limit:
            page = EventSearch(**{**search.__dict__, "pit_id": pit_id, "after": after})
            response = _search(user=user, search=page, pit_id=pit_id, size=min(page_size, limit - sent),
                               track_total_hits=False)
            hits = response["hits"]["hits"]
            pit_id = response.get("pit_id", pit_id)
            for hit in hits:
                yield Event.from_hit(hit)
            if response.get("timed_out"):
                raise SearchError(_("The search took too long and stopped early: the export is incomplete. "
                                    "Narrow the time range or the query."))
            sent += len(hits)
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        pits.pit_close(pit_id)


def event_count(*, user: AnyUser, search: EventSearch) -> int:
    """How many events match ``search`` in the user's scope (exactly)."""
    try:
        response = es.scoped_search(user=user, query=search.es_query(), size=0, track_total_hits=True,
                                    indices=es.event_indices(start=search.start, end=search.end))
    except ApiError as exc:
        raise SearchError(_search_error_message(exc)) from exc
    except TransportError as exc:
        raise SearchError(_("The event store did not answer; try again in a moment.")) from exc
    return int(response["hits"]["total"]["value"])


def event_get(*, user: AnyUser, event_id: str) -> Event:
    """One event by id, in the user's scope; 404 for a missing event and another province's alike."""
    try:
        response = es.scoped_search(user=user, query={"ids": {"values": [event_id]}}, size=1)
    except ApiError as exc:
        raise Http404("No such event") from exc
    hits = response["hits"]["hits"]
    if not hits:
        raise Http404("No such event")
    return Event.from_hit(hits[0])


def _search(*, user: AnyUser, search: EventSearch, pit_id: str, **params: Any) -> Any:
    if search.after:
        params["search_after"] = search.after
    try:
        return es.scoped_search(user=user, query=search.es_query(), pit_id=pit_id, sort=search.es_sort(), **params)
    except ApiError as exc:
        raise SearchError(_search_error_message(exc)) from exc
    except TransportError as exc:  # no answer within the client's timeout, or no connection
        raise SearchError(_("The event store did not answer; try again in a moment.")) from exc


def _search_error_message(exc: ApiError) -> str:
    if exc.meta.status == 404:
        return _("These results have expired; search again.")
    if exc.meta.status == 400:
        return _("Elasticsearch could not read this query: check its syntax (field:value, AND, OR, quotes).")
    return _("The event store did not answer; try again in a moment.")


# --- the field sidebar --------------------------------------------------------------------------------

# At most this many fields are aggregated for one search: the sidebar's cost grows with it, not with the mapping.
SIDEBAR_FIELDS = 30
TOP_VALUES = 5
# Field types whose top values say nothing (every time is different) or that cannot be aggregated.
NOT_IN_SIDEBAR = frozenset({"date", "date_nanos", "text", "match_only_text", "object", "nested", "binary",
                            "flattened", "unmapped"})


@dataclass
class FieldValue:
    value: str
    count: int


@dataclass
class FieldSummary:
    name: str
    type: str
    values: list[FieldValue]
    # Events of the result that have a value in this field (exact for single-valued fields).
    present: int


@dataclass
class Sidebar:
    fields: list[FieldSummary] = field(default_factory=list)
    # Fields seen in the user's own events (sidebar and page), for the column chooser; never the whole mapping,
    # which names fields of every province's events.
    available: list[str] = field(default_factory=list)
    partial: bool = False
    error: str = ""


def event_field_types(*, start: datetime, end: datetime) -> dict[str, str]:
    """Field name → type of every aggregatable field of the event indices of [start, end] (dates and free text
    left out), from the mapping (field caps).

    Names only, no event is read, so no scope applies here: a name reaches a page only once a scoped
    aggregation found values of it in the user's events (``event_sidebar``). The mapping is bounded by the
    indices' total-fields limit, so this list is too. Read on every search, not cached: Elasticsearch answers
    it from the cluster state in a few milliseconds, and a cached list would hide a field that appeared since
    (a new day's index, a new source) and refuse to sort by it.
    """
    response = es.client().field_caps(index=es.event_indices(start=start, end=end), fields="*",
                                      filters="-metadata,-multifield,-parent,-nested", include_unmapped=False,
                                      ignore_unavailable=True, allow_no_indices=True)
    found = {name: _one_type(caps) for name, caps in response["fields"].items()}
    return {name: kind for name, kind in found.items() if kind and kind not in NOT_IN_SIDEBAR}


def _one_type(caps: dict[str, Any]) -> str:
    """The field's type when every index maps it alike and aggregatable, else ""."""
    if len(caps) != 1:
        return ""
    kind, spec = next(iter(caps.items()))
    return str(kind) if spec.get("aggregatable") else ""


def sidebar_fields(types: dict[str, str], sample: list[Event], pinned: list[str]) -> list[str]:
    """Which fields to aggregate, at most SIDEBAR_FIELDS: the pinned ones (columns, filters) first, then every
    mapped field if they are few, else the fields of the sampled events, most frequent first."""
    candidates = [name for name in pinned if name in types]
    if len(types) <= SIDEBAR_FIELDS:
        candidates += sorted(types)
    else:
        seen = Counter(name for event in sample for name in event.fields if name in types)
        candidates += [name for name, _n in sorted(seen.items(), key=lambda item: (-item[1], item[0]))]
    return list(dict.fromkeys(candidates))[:SIDEBAR_FIELDS]


def event_sidebar(*, user: AnyUser, search: EventSearch, sample: list[Event]) -> Sidebar:
    """The fields of the search's events with their top values and counts, aggregated over the same query
    in the user's scope (``soc.es.scoped_search``). Fields without a value in that scope are left out."""
    try:
        types = event_field_types(start=search.start, end=search.end)
        names = sidebar_fields(types, sample, [*search.columns, *(f.field for f in search.filters)])
        if not names:
            return Sidebar()
        aggs = {f"f{n}": {"terms": {"field": name, "size": TOP_VALUES}} for n, name in enumerate(names)}
        response = es.scoped_search(user=user, query=search.es_query(), size=0, aggs=aggs, track_total_hits=False,
                                    indices=es.event_indices(start=search.start, end=search.end))
    except ApiError as exc:
        return Sidebar(error=_search_error_message(exc))
    except TransportError:
        return Sidebar(error=_("The event store did not answer; try again in a moment."))
    # No event index in the range yet: Elasticsearch answers without aggregations.
    aggregations = response.get("aggregations") or {}
    found = [_summary(name, types[name], aggregations[f"f{n}"]) for n, name in enumerate(names)
             if f"f{n}" in aggregations]
    present = [f for f in found if f.present]
    seen = {f.name for f in present} | {name for event in sample for name in event.fields}
    return Sidebar(fields=present, available=sorted(seen), partial=bool(response.get("timed_out")))


def _summary(name: str, kind: str, agg: dict[str, Any]) -> FieldSummary:
    values = [FieldValue(str(b.get("key_as_string", b["key"])), b["doc_count"]) for b in agg["buckets"]]
    return FieldSummary(name=name, type=kind, values=values,
                        present=sum(v.count for v in values) + agg.get("sum_other_doc_count", 0))


# --- surrounding events ---------------------------------------------------------------------------------

CONTEXT_FIELDS = ("host.name", "source.ip")
CONTEXT_MINUTES = (1, 5, 15, 60)
CONTEXT_SIZE = 50


@dataclass
class EventContext:
    anchor: Event
    field_name: str
    value: str
    minutes: int
    events: list[Event] = field(default_factory=list)
    # More events than CONTEXT_SIZE on one side: the view shows the nearest ones.
    truncated: bool = False


def event_context(*, user: AnyUser, event: Event, field_name: str, minutes: int) -> EventContext:
    """The events with the same ``field_name`` value as ``event`` from ``minutes`` before it to ``minutes`` after,
    oldest first, the nearest CONTEXT_SIZE on each side; in the user's scope like any search."""
    value = event.fields.get(field_name, "")
    context = EventContext(anchor=event, field_name=field_name, value=value, minutes=minutes)
    if not value or event.timestamp is None:
        context.events = [event]
        return context
    moment, span = event.timestamp, timedelta(minutes=minutes)
    before = _context_side(user, field_name, value, {"gte": moment - span, "lte": moment}, "desc")
    after = _context_side(user, field_name, value, {"gt": moment, "lte": moment + span}, "asc")
    context.truncated = len(before) == CONTEXT_SIZE or len(after) == CONTEXT_SIZE
    context.events = [*reversed(before), *after]
    return context


def _context_side(user: AnyUser, field_name: str, value: str, bounds: dict[str, datetime], order: str) -> list[Event]:
    span = {op: moment.isoformat() for op, moment in bounds.items()}
    query = {"bool": {"filter": [{"term": {field_name: value}}, {"range": {"@timestamp": span}}]}}
    indices = es.event_indices(start=min(bounds.values()), end=max(bounds.values()))
    try:
        response = es.scoped_search(user=user, query=query, indices=indices, size=CONTEXT_SIZE,
                                    sort=[{"@timestamp": {"order": order}}], track_total_hits=False)
    except ApiError as exc:
        raise SearchError(_search_error_message(exc)) from exc
    except TransportError as exc:
        raise SearchError(_("The event store did not answer; try again in a moment.")) from exc
    return [Event.from_hit(hit) for hit in response["hits"]["hits"]]


# --- saved searches ---------------------------------------------------------------------------------------

def saved_search_list(*, user: AnyUser) -> Any:
    return SavedSearch.objects.visible_to(user).select_related("owner", "organisation")


def saved_search_get(*, user: AnyUser, search_id: int) -> SavedSearch:
    """404 for a missing search and for one the user may not see (another province's, another's private) alike."""
    try:
        return saved_search_list(user=user).get(pk=search_id)
    except SavedSearch.DoesNotExist as exc:
        raise Http404("No such saved search") from exc
