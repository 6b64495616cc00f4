"""History replayed into the platform (``soc.backfill`` events) is detected by arrival, evaluated on its own time.

The ingest stores an event dated before the live days in the back-fill index of its arrival month, marked
``soc.backfill``, with ``event.ingested`` its arrival (``collectors.ingest``). A live pass never sees it: its
window is recent ``@timestamp``. So each rule also keeps a back-fill checkpoint on arrival time, and each run:

1. probes, once per distinct checkpoint of the batch (usually one search per cycle for all rules), for
   back-filled events that arrived in (checkpoint, now - settle]: how many, and the ``@timestamp`` span
   they cover;
2. for each rule with such events, runs a back-fill pass. A single-event rule (Sigma, indicators) reads exactly
   those events (``soc.backfill`` and the arrival range), in the back-fill indices of those arrival months. An
   aggregating rule (threshold, sequence, correlation) reads everything in the span they cover, widened by its
   own window, on ``@timestamp``: a burst or a correlation is found in the events' own time, whether its other
   events are history or live. Alert ids come from the rule, group and first event (or moment), so a span read
   twice raises nothing twice;
3. moves the back-fill checkpoint to the arrival bound it read, only when the pass had no error.

New-term and silence rules are left out: over history they would call every value new and every gap silent.
``DETECTION_BACKFILL_SETTLE_SECONDS`` is the precondition: the ingest writes an event within that long of
stamping ``event.ingested`` (it stamps at the start of a request and writes within it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from detection.engine import Window, parse_time
from soc import es

BACKFILL_FLAG = {"term": {"soc.backfill": True}}


@dataclass(frozen=True)
class BackfillSpan:
    """Back-filled events that arrived in (since, until]: how many, and the first and last of their own times."""

    since: datetime
    until: datetime
    events: int
    first: datetime
    last: datetime

    def arrival_filter(self) -> dict[str, Any]:
        return {"range": {"event.ingested": {"gt": self.since.isoformat(), "lte": self.until.isoformat()}}}


def backfill_spans(*, since: set[datetime], until: datetime, client: Elasticsearch) -> dict[datetime, BackfillSpan]:
    """For each checkpoint, the back-fill that arrived after it (absent when none did)."""
    found: dict[datetime, BackfillSpan] = {}
    for start in sorted(since):
        if start >= until:
            continue
        span = BackfillSpan(since=start, until=until, events=0, first=start, last=start)
        answer = client.search(
            index=_arrival_indices(span), size=0, track_total_hits=True, ignore_unavailable=True,
            allow_no_indices=True, query={"bool": {"filter": [BACKFILL_FLAG, span.arrival_filter()]}},
            aggs={"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}})
        events = int(answer["hits"]["total"]["value"])
        if events:
            aggs = answer["aggregations"]
            found[start] = replace(span, events=events, first=parse_time(aggs["first"]["value_as_string"]),
                                   last=parse_time(aggs["last"]["value_as_string"]))
    return found


def backfill_window(live: Window, span: BackfillSpan, *, kind_span: timedelta,
                    single_event: bool) -> tuple[Window, str]:
    """The window (and indices, "" to derive them from the window) of a rule's back-fill pass.

    ``live`` is the rule's own window over [span.first, span.last] (its province scope and exceptions).
    """
    if single_event:
        window = replace(live, time_field="@timestamp", scope=(*live.scope, BACKFILL_FLAG, span.arrival_filter()))
        return window, _arrival_indices(span)
    end = min(span.last + kind_span, span.until)
    return replace(live, time_field="@timestamp", start=span.first - kind_span, end=max(end, span.last)), ""


def _arrival_indices(span: BackfillSpan) -> str:
    return es.event_indices(start=span.since, end=span.until, time_field="event.ingested", backfill_only=True)
