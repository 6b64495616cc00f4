"""Reading: the running inputs, and one read cycle that parses their new lines and records into the spool.

File and record inputs (.evtx exports, the journal) are polled by the agent's reading thread; syslog
listeners run their own threads and spool through ``spool_syslog``. ``apply`` swaps the running set for a
new configuration (from the central side) without a restart; ``lock`` guards the set, not the inputs.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collectors.agent.config import AgentConfig
from collectors.agent.counters import Counters
from collectors.agent.evtx_input import EvtxInput, EvtxRecord
from collectors.agent.journald_input import JournaldInput, JournalRecord, journal_doc
from collectors.agent.parsers import parse_json_record, parse_line
from collectors.agent.parsers.base import ParseContext, get, put
from collectors.agent.spooling import SpoolWriter
from collectors.agent.syslog_input import Sequence, SyslogInput
from collectors.agent.tail import FileInput, Line, OffsetStore


class Reader:
    def __init__(self, config: AgentConfig, writer: SpoolWriter, counters: Counters, state: Path) -> None:
        self.config, self.writer, self.counters, self.state = config, writer, counters, state
        self.hostname = writer.hostname
        self.tz = ZoneInfo(config.timezone)
        self.files: dict[str, tuple[dict[str, Any], FileInput]] = {}
        self.listeners: dict[str, tuple[dict[str, Any], SyslogInput, Sequence]] = {}
        # Record inputs (exported .evtx files, the journal): poll, spool, then commit their progress.
        self.records: dict[str, tuple[dict[str, Any], EvtxInput | JournaldInput]] = {}
        self.lock = threading.Lock()

    # ---- the running set -------------------------------------------------
    def apply(self, inputs: list[dict[str, Any]]) -> None:
        """Start, stop or restart inputs so the running set matches ``inputs`` (no agent restart)."""
        with self.lock:
            wanted = {spec["name"]: spec for spec in inputs}
            for name in list(self.files):
                if wanted.get(name) != self.files[name][0]:
                    self.files.pop(name)[1].close()
            for name in list(self.listeners):
                if wanted.get(name) != self.listeners[name][0]:
                    self.listeners.pop(name)[1].stop()
            for name in list(self.records):
                if wanted.get(name) != self.records[name][0]:
                    self.records.pop(name)[1].close()
            for name, spec in wanted.items():
                if spec["type"] == "file" and name not in self.files:
                    store = OffsetStore(self.state, f"offsets-{name}.json")
                    self.files[name] = (spec, FileInput(name, spec["paths"], store))
                elif spec["type"] == "evtx" and name not in self.records:
                    self.records[name] = (spec, EvtxInput(name, spec["paths"], self.state))
                elif spec["type"] == "journald" and name not in self.records:
                    self.records[name] = (spec, JournaldInput(name, spec, self.state))
                elif spec["type"] == "syslog" and name not in self.listeners:
                    self._start_listener(name, spec)
            self.config.inputs = inputs

    def statuses(self) -> list[dict[str, Any]]:
        with self.lock:
            return [f.status() for _, f in self.files.values()] \
                + [s.status() for _, s, _ in self.listeners.values()] + [r.status() for _, r in self.records.values()]

    def close(self) -> None:
        with self.lock:
            for _, listener, _ in self.listeners.values():
                listener.stop()
            for _, tail in self.files.values():
                tail.close()
            for _, source in self.records.values():
                source.close()

    # ---- syslog: the listeners' threads call in --------------------------
    def _start_listener(self, name: str, spec: dict[str, Any]) -> None:
        sequence = Sequence(self.state / f"syslog-{name}.seq")
        protocol = str(spec.get("protocol", "udp"))
        listener = SyslogInput(spec, lambda msgs: self.spool_syslog(name, protocol, sequence, msgs))
        try:
            listener.start()
        except (OSError, KeyError, ValueError) as exc:
            self.counters.error(f"syslog input {name} could not start: {exc}")
            return
        self.listeners[name] = (spec, listener, sequence)

    def spool_syslog(self, name: str, protocol: str, sequence: Sequence, messages: list[tuple[str, str]]) -> None:
        """Messages of one listener, spooled unsynced: the reading cycle fsyncs them (``Agent.run``)."""
        now = datetime.now(UTC)
        first = sequence.take(len(messages))
        events = []
        for n, (text, sender) in enumerate(messages):
            doc = parse_line(text, ParseContext(host=sender, tz=self.tz, now=now))
            if get(doc, "network.transport") is None:  # a firewall line's own protocol (tcp/udp/icmp) wins
                put(doc, "network.transport", protocol)
            events.append({"id": f"syslog-{name}:{first + n}", "doc": doc})
        self.writer.spool.append(events)
        self.counters.read += len(events)

    # ---- one read cycle ---------------------------------------------------
    def read_once(self) -> int:
        """One read cycle over every file and record input; returns events spooled."""
        ctx = ParseContext(host=self.hostname, tz=self.tz, now=datetime.now(UTC))
        total = self._read_files(ctx) + self._read_records(ctx)
        self.counters.read += total
        self.writer.report_drops()
        return total

    def _read_files(self, ctx: ParseContext) -> int:
        total = 0
        with self.lock:
            inputs = list(self.files.values())
        for spec, tail in inputs:
            lines = tail.poll(self.config.batch_size)
            if not lines:
                continue
            spooled = self.writer.put([self._line_event(line, spec, ctx) for line in lines])
            if spooled:
                tail.commit(lines[:spooled])  # after the fsync: offsets never claim more than the spool holds
                total += spooled
            if spooled < len(lines):
                break  # block policy and the spool is full: the offsets stay, the inputs wait
        return total

    def _read_records(self, ctx: ParseContext) -> int:
        total = 0
        with self.lock:
            inputs = [source for _, source in self.records.values()]
        for source in inputs:
            items = source.poll(self.config.batch_size)
            if not items:
                continue
            spooled = self.writer.put([{"id": item.event_id, "doc": _record_doc(item, ctx)} for item in items])
            if spooled:
                source.commit(items[:spooled])  # type: ignore[arg-type]  # each input gets back its own items
                total += spooled
            if spooled < len(items):
                break
        return total

    @staticmethod
    def _line_event(line: Line, spec: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
        source = spec.get("source")
        doc = None
        if spec.get("format") == "json":
            try:
                record = json.loads(line.text)
            except (ValueError, RecursionError):
                record = None
            if isinstance(record, dict):
                doc = parse_json_record(record, ctx, source=source, original=line.text.rstrip("\r\n"))
        if doc is None:
            doc = parse_line(line.text, ctx, source=source)
        return {"id": line.event_id, "doc": doc}


def _record_doc(item: EvtxRecord | JournalRecord, ctx: ParseContext) -> dict[str, Any]:
    if isinstance(item, EvtxRecord):
        return parse_json_record(item.record, ctx, source="windows")
    return journal_doc(item.entry, ctx)
