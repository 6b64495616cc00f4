"""The running agent: inputs → spool → sender, plus heartbeat and a local status file.

Threads: one reader (file inputs; syslog listeners run their own), one
sender, one heartbeat. They meet only at the spool (locked) and at the
counters (plain integers, written by one thread each).

Order of a read cycle: lines are parsed, appended to the spool, the spool is
fsynced, and only then are the file offsets persisted; a crash between the
last two steps re-reads lines whose ids are already spooled, which the
central side answers as ``duplicate``.

Counts add up: every record taken off the spool (``sent``) is ``created``,
``duplicate`` or ``rejected``; a batch never loses a record to another that
shares its id (``distinct_events``).

The status file says ``state``: ``running``, ``finished`` (a ``--once`` run read
everything and the central side confirmed it; the last heartbeat tells the
central side too, so it does not expect more reports) or ``stopped``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collectors.agent import __version__, jsonfast
from collectors.agent.config import CENTRAL_KEYS, AgentConfig, ConfigError, central_overrides
from collectors.agent.evtx_input import EvtxInput, EvtxRecord
from collectors.agent.journald_input import JournaldInput, JournalRecord, journal_doc
from collectors.agent.parsers import parse_json_record, parse_line
from collectors.agent.parsers.base import ParseContext, get, isoformat_utc, put
from collectors.agent.sender import STORED, Backoff, Client, RateLimiter, TransportError
from collectors.agent.spool import GAP_PREFIX, Record, Spool, SpoolFull
from collectors.agent.syslog_input import Sequence, SyslogInput
from collectors.agent.tail import FileInput, Line, OffsetStore

log = logging.getLogger("soc-agent")
MAX_BATCH_BYTES = 4 * 1024 * 1024  # well under the central 10 MB body limit
MAX_ID_CHARS = 200  # the central ingest refuses longer ids
RUNNING, FINISHED, STOPPED = "running", "finished", "stopped"


class Counters:
    def __init__(self) -> None:
        self.read = self.sent = self.created = self.duplicate = self.rejected = self.retried = 0
        self.transport_errors = self.gaps = 0
        self.renamed = 0  # different records that shared an id in one batch: sent under an id of their own
        self.last_error = ""
        self.lock = threading.Lock()  # the sender threads count concurrently


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.state = Path(config.state_dir)
        self.state.mkdir(parents=True, exist_ok=True)
        self.spool = Spool(self.state / "spool", max_bytes=config.spool_max_bytes, policy=config.spool_policy)
        self.client = Client(config.url, Path(config.secret_file).read_text().strip(), ca_file=config.ca_file)
        self.hostname = config.hostname or os.uname().nodename
        self.tz = ZoneInfo(config.timezone)
        self.files: dict[str, tuple[dict[str, Any], FileInput]] = {}
        self.listeners: dict[str, tuple[dict[str, Any], SyslogInput, Sequence]] = {}
        # Record inputs (exported .evtx files, the journal): poll, spool, then commit their progress.
        self.records: dict[str, tuple[dict[str, Any], EvtxInput | JournaldInput]] = {}
        self.counters = Counters()
        self.stop = threading.Event()
        self.clock_checked = threading.Event()  # set after the first heartbeat: the clock offset is known then
        self.input_lock = threading.Lock()
        self.limiter = RateLimiter(config.rate_limit)
        self.pool = ThreadPoolExecutor(max_workers=max(1, config.senders), thread_name_prefix="send")
        self.started = time.time()
        self.rate_window: tuple[float, int] = (time.monotonic(), 0)
        self.events_per_second = 0.0
        self.run_state = RUNNING
        self.central: dict[str, Any] = {"ok": False, "error": "no heartbeat answered yet"}
        self.apply_inputs(config.inputs)

    # ---- inputs ---------------------------------------------------------
    def apply_inputs(self, inputs: list[dict[str, Any]]) -> None:
        """Start, stop or restart inputs so the running set matches ``inputs`` (no agent restart)."""
        with self.input_lock:
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

    def _start_listener(self, name: str, spec: dict[str, Any]) -> None:
        sequence = Sequence(self.state / f"syslog-{name}.seq")
        protocol = str(spec.get("protocol", "udp"))
        listener = SyslogInput(spec, lambda msgs: self._spool_syslog(name, protocol, sequence, msgs))
        try:
            listener.start()
        except (OSError, KeyError, ValueError) as exc:
            self._error(f"syslog input {name} could not start: {exc}")
            return
        self.listeners[name] = (spec, listener, sequence)

    def _spool_syslog(self, name: str, protocol: str, sequence: Sequence, messages: list[tuple[str, str]]) -> None:
        now = datetime.now(UTC)
        first = sequence.take(len(messages))
        events = []
        for n, (text, sender) in enumerate(messages):
            doc = parse_line(text, ParseContext(host=sender, tz=self.tz, now=now))
            if get(doc, "network.transport") is None:  # a firewall line's own protocol (tcp/udp/icmp) wins
                put(doc, "network.transport", protocol)
            events.append({"id": f"syslog-{name}:{first + n}", "doc": doc})
        self.spool.append(events)
        self.counters.read += len(events)

    def _line_event(self, line: Line, spec: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
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

    def read_files_once(self) -> int:
        """One read cycle over every file input; returns lines spooled."""
        total = 0
        with self.input_lock:
            inputs = list(self.files.values())
        ctx = ParseContext(host=self.hostname, tz=self.tz, now=datetime.now(UTC))
        for spec, tail in inputs:
            lines = tail.poll(self.config.batch_size)
            if not lines:
                continue
            spooled = self._append_prefix([self._line_event(line, spec, ctx) for line in lines])
            if spooled:
                self.spool.sync()  # before the offsets move: they must never claim more than the spool holds
                tail.commit(lines[:spooled])
                total += spooled
            if spooled < len(lines):
                break  # block policy and the spool is full: the offsets stay, the inputs wait
        total += self._read_records_once(ctx)
        self.counters.read += total
        self._spool_gap_if_dropped()
        return total

    def _read_records_once(self, ctx: ParseContext) -> int:
        """One cycle over the record inputs: parse, spool (fsynced), then let each commit its progress."""
        total = 0
        with self.input_lock:
            inputs = [source for _, source in self.records.values()]
        for source in inputs:
            items = source.poll(self.config.batch_size)
            if not items:
                continue
            events = [{"id": item.event_id, "doc": self._record_doc(item, ctx)} for item in items]
            spooled = self._append_prefix(events)
            if spooled:
                self.spool.sync()
                source.commit(items[:spooled])  # type: ignore[arg-type]  # each input gets back its own items
                total += spooled
            if spooled < len(items):
                break
        return total

    @staticmethod
    def _record_doc(item: EvtxRecord | JournalRecord, ctx: ParseContext) -> dict[str, Any]:
        if isinstance(item, EvtxRecord):
            return parse_json_record(item.record, ctx, source="windows")
        return journal_doc(item.entry, ctx)

    def _append_prefix(self, events: list[dict[str, Any]], chunk: int = 64) -> int:
        """Append in small chunks; returns how many (from the first) the spool took."""
        done = 0
        for start in range(0, len(events), chunk):
            try:
                self.spool.append(events[start:start + chunk])
            except SpoolFull:
                break
            done = min(len(events), start + chunk)
        return done

    def _spool_gap_if_dropped(self) -> None:
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
        self._error(f"spool full: dropped {report.records} unsent events")
        with contextlib.suppress(SpoolFull):  # a gap event that cannot fit is still counted in "drops"
            self.spool.append([{"id": gap_id, "doc": doc}])

    # ---- sending --------------------------------------------------------
    def deliver(self, records: list[Record]) -> bool:
        """Send until every record is stored centrally; False if stopping first. The caller acknowledges."""
        pending, copies, renamed = distinct_events(records)
        backoff = Backoff()
        while pending:
            if self.stop.is_set():
                return False
            self.limiter.wait(len(pending))
            try:
                statuses = self.client.send_events([r.raw for r in pending])
            except TransportError as exc:
                with self.counters.lock:
                    self.counters.transport_errors += 1
                self._error(str(exc))
                self.stop.wait(backoff.next_delay(exc.retry_after))
                continue
            self._count(statuses)
            pending = [r for r in pending if statuses.get(r.id) not in STORED]
            if pending:
                with self.counters.lock:
                    self.counters.retried += len(pending)
                self.stop.wait(backoff.next_delay())
        with self.counters.lock:  # a copy of a record sent in the same request is that record's duplicate
            self.counters.duplicate += copies
            self.counters.renamed += renamed
        return True

    def _count(self, statuses: dict[str, str]) -> None:
        with self.counters.lock:
            for status in statuses.values():
                if status in STORED:
                    setattr(self.counters, status, getattr(self.counters, status) + 1)

    def send_once(self) -> int:
        """Ship the spool with up to ``senders`` batches in flight; acknowledge strictly in order.

        The spool's cursor only moves past a batch once it and every batch before
        it are confirmed, so a crash at any point resends, never skips.
        """
        inflight: deque[tuple[list[Record], Future[bool]]] = deque()
        position: tuple[int, int] | None = None
        sent = 0
        while True:
            while len(inflight) < self.config.senders and not self.stop.is_set():
                records = self.spool.read_batch(self.config.batch_size, MAX_BATCH_BYTES, start=position)
                if not records:
                    break
                position = (records[-1].segment, records[-1].end)
                inflight.append((records, self.pool.submit(self.deliver, records)))
            if not inflight:
                return sent
            records, future = inflight.popleft()
            if not future.result():
                for _, later in inflight:
                    later.result()  # they return promptly: stop is set
                return sent
            self.spool.ack(records)
            self.counters.sent += len(records)
            sent += len(records)

    # ---- heartbeat and status ------------------------------------------
    def stats(self) -> dict[str, Any]:
        spool = self.spool.stats()
        now = time.monotonic()
        start, sent = self.rate_window
        if now - start >= 1.0:
            self.events_per_second = round((self.counters.sent - sent) / (now - start), 1)
            self.rate_window = (now, self.counters.sent)
        with self.input_lock:
            inputs = [f.status() for _, f in self.files.values()] \
                + [s.status() for _, s, _ in self.listeners.values()] + [r.status() for _, r in self.records.values()]
        drops = spool.dropped + sum(i.get("dropped", 0) for i in inputs)
        c = self.counters
        return {
            "version": __version__, "hostname": self.hostname, "uptime": round(time.time() - self.started),
            "inputs": inputs, "spool": {"depth": spool.depth, "bytes": spool.bytes, "limit": self.spool.max_bytes,
                                        "policy": self.spool.policy, "quarantined": spool.quarantined},
            "oldest_unsent_age": spool.oldest_unsent_age, "events_per_second": self.events_per_second,
            "drops": drops, "errors": c.transport_errors + spool.quarantined, "last_error": c.last_error,
            "counters": {"read": c.read, "sent": c.sent, "created": c.created, "duplicate": c.duplicate,
                         "rejected": c.rejected, "retried": c.retried, "gaps": c.gaps, "renamed": c.renamed},
            "state": self.run_state, "central": self.central,
            "config": {"batch_size": self.config.batch_size, "rate_limit": self.config.rate_limit},
            "clock_offset_seconds": self.client.clock_offset,
        }

    def heartbeat_once(self) -> None:
        for message in self.spool.errors[:]:
            self._error(message)
        self.spool.errors.clear()
        stats = self.stats()
        self.counters.last_error = ""  # each report carries the errors since the previous one
        try:
            answer = self.client.post("/collectors/heartbeat", stats)
            self.central = {"ok": True, "at": isoformat_utc(datetime.now(UTC))}
            self.apply_central(answer.get("config") if isinstance(answer, dict) else None)
        except TransportError as exc:
            # Kept for the status file, also the one written at exit: "UNREACHABLE" always says why.
            self.central = {"ok": False, "error": str(exc)[:500], "at": isoformat_utc(datetime.now(UTC))}
        stats["central"] = self.central
        self.clock_checked.set()
        self.write_status(stats)

    def apply_central(self, payload: Any) -> None:
        try:
            overrides = central_overrides(payload)
        except ConfigError as exc:
            self._error(f"central configuration refused: {exc}")
            return
        if "batch_size" in overrides:
            self.config.batch_size = overrides["batch_size"]
        if "rate_limit" in overrides and overrides["rate_limit"] != self.config.rate_limit:
            self.config.rate_limit = overrides["rate_limit"]
            self.limiter = RateLimiter(self.config.rate_limit)
        if "inputs" in overrides and overrides["inputs"] != self.config.inputs:
            log.info("applying central inputs: %s", [i["name"] for i in overrides["inputs"]])
            self.apply_inputs(overrides["inputs"])
        assert set(overrides) <= set(CENTRAL_KEYS)

    def summary(self) -> str:
        c = self.counters
        return (f"{self.run_state}: read {c.read}; sent {c.sent} (created {c.created}, duplicate {c.duplicate}, "
                f"rejected {c.rejected}); renamed {c.renamed}; dropped {self.spool.stats().dropped}; "
                f"unsent {self.spool.depth}")

    def write_status(self, stats: dict[str, Any]) -> None:
        stats["written_at"] = time.time()
        stats["pid"] = os.getpid()
        tmp = self.state / "status.tmp"
        tmp.write_text(json.dumps(stats, indent=2))
        os.replace(tmp, self.state / "status.json")

    def _error(self, message: str) -> None:
        self.counters.last_error = message[:500]
        log.warning("%s", message)

    # ---- loops ----------------------------------------------------------
    def _loop(self, step: Any, idle: float) -> None:
        while not self.stop.is_set():
            try:
                busy = step()
            except Exception:  # a bug in one cycle must not stop the agent: logged, counted, next cycle
                log.exception("agent loop %s failed", getattr(step, "__name__", step))
                self.counters.transport_errors += 1
                busy = 0
            if not busy:
                self.stop.wait(idle)

    def _heartbeat_step(self) -> int:
        self.heartbeat_once()
        self.stop.wait(self.config.heartbeat_seconds)
        return 1

    def _sender_loop(self) -> None:
        # The first batches wait for the first heartbeat (bounded), so they carry this host's clock offset.
        self.clock_checked.wait(self.client.timeout + 5)
        self._loop(self.send_once, self.config.poll_seconds)

    def run(self, *, once: bool = False) -> None:
        # What exists now (modules, parsers, config) lives as long as the agent: out of every later collection,
        # which each read cycle's ~20,000 new containers trigger (parse + spool measured ~8% cheaper).
        gc.collect()
        gc.freeze()
        threads = [threading.Thread(target=self._sender_loop, name="sender", daemon=True),
                   threading.Thread(target=self._loop, args=(self._heartbeat_step, 1.0),
                                    name="heartbeat", daemon=True)]
        for thread in threads:
            thread.start()
        finished = False
        try:
            while not self.stop.is_set():
                read = self.read_files_once()
                self.spool.sync()  # what the syslog listeners appended since the last cycle
                if once and not read and self.spool.depth == 0 and not self.listeners:
                    finished = True
                    break
                if not read:
                    self.stop.wait(self.config.poll_seconds)
        finally:
            self.shutdown(threads, finished=finished)

    def shutdown(self, threads: list[threading.Thread], *, finished: bool = False) -> None:
        self.stop.set()
        self.clock_checked.set()
        for thread in threads:
            thread.join(timeout=10)
        self.run_state = FINISHED if finished else STOPPED
        if finished:
            self.heartbeat_once()  # the central side learns the one-off run is over: no silence alarm
        log.info("%s", self.summary())
        with self.input_lock:
            for _, listener, _ in self.listeners.values():
                listener.stop()
            for _, tail in self.files.values():
                tail.close()
            for _, source in self.records.values():
                source.close()
        self.pool.shutdown(wait=True)
        self.write_status(self.stats())
        self.spool.close()


def distinct_events(records: list[Record]) -> tuple[list[Record], int, int]:
    """(one record per id to send, identical copies left out, different records given an id of their own).

    The central side answers per id, so a request carries each id once. A copy of a record (the same
    bytes: re-read after a crash) is sent once. A *different* record that shares an id is never folded
    into the first: it goes under ``<id>:<digest of its bytes>``, the same id on every resend.
    """
    sent: dict[str, bytes] = {}
    out: list[Record] = []
    copies = renamed = 0
    for record in records:
        own = sent.get(record.id, record.raw) != record.raw
        if own:
            record = _with_own_id(record)
        if record.id in sent:
            copies += 1
            continue
        sent[record.id] = record.raw
        out.append(record)
        renamed += own
    return out, copies, renamed


def _with_own_id(record: Record) -> Record:
    digest = hashlib.blake2b(record.raw, digest_size=8).hexdigest()
    new_id = f"{record.id[:MAX_ID_CHARS - len(digest) - 1]}:{digest}"
    event = record.event
    event["id"] = new_id  # keeps its place first in the JSON, where the spool reads ids
    return dataclasses.replace(record, id=new_id, raw=jsonfast.dumps(event))
