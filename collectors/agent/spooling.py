"""Into the spool: the rule that an input's progress never claims more than the spool holds.

``put`` appends what fits and fsyncs before it returns the count; the caller commits (file offsets, evtx
positions, journal cursors) exactly that many. A crash between the fsync and the commit re-reads events
whose ids are already spooled, which the central side answers as ``duplicate``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from collectors.agent.counters import Counters
from collectors.agent.parsers.base import isoformat_utc, put
from collectors.agent.spool import GAP_PREFIX, Spool, SpoolFull


class SpoolWriter:
    def __init__(self, spool: Spool, counters: Counters, hostname: str) -> None:
        self.spool, self.counters, self.hostname = spool, counters, hostname

    def put(self, events: list[dict[str, Any]]) -> int:
        """Append as many as fit, from the first, in small chunks, and fsync them; returns how many."""
        done = self._append_prefix(events)
        if done:
            self.spool.sync()
        return done

    def _append_prefix(self, events: list[dict[str, Any]], chunk: int = 64) -> int:
        done = 0
        for start in range(0, len(events), chunk):
            try:
                self.spool.append(events[start:start + chunk])
            except SpoolFull:
                break  # block policy and the spool is full: the caller's inputs wait
            done = min(len(events), start + chunk)
        return done

    def report_drops(self) -> None:
        """drop_oldest removed unsent events: say so centrally, with counts and time range."""
        report = self.spool.take_drop_report()
        if report is None:
            return
        now = datetime.now(UTC)
        doc: dict[str, Any] = {"@timestamp": isoformat_utc(now), "message":
                               f"collector spool full: {report.records} events dropped before sending"}
        put(doc, "event.kind", "event")
        put(doc, "event.dataset", "soc.collector")
        put(doc, "event.action", "events-dropped")
        put(doc, "event.count", report.records)
        if report.first_ts:
            put(doc, "event.start", report.first_ts)
            put(doc, "event.end", report.last_ts)
        put(doc, "host.name", self.hostname)
        gap_id = f"{GAP_PREFIX}{report.segments[0]}:{int(now.timestamp() * 1000)}"
        self.counters.gaps += 1
        self.counters.error(f"spool full: dropped {report.records} unsent events")
        with contextlib.suppress(SpoolFull):  # a gap event that cannot fit is still counted in "drops"
            self.spool.append([{"id": gap_id, "doc": doc}])
