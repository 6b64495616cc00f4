"""Reads for the console. Event searches go through ``soc.es.scoped_search`` only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from elasticsearch import ApiError, TransportError

from console import pits
from console.events import Event
from console.search import EventSearch, SearchError
from organisations.selectors import AnyUser
from soc import es

SORT: list[dict[str, Any]] = [{"@timestamp": {"order": "desc", "unmapped_type": "date"}}, {"_shard_doc": "desc"}]


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
        return es.scoped_search(user=user, query=search.es_query(), pit_id=pit_id, sort=SORT, **params)
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
