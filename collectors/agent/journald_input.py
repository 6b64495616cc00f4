"""The systemd journal, read through ``journalctl -o json --follow`` (no library needed).

Where there is no journal (no journalctl, or neither ``/run/systemd/journal``
nor ``/var/log/journal``, or ``directory`` missing) the input says so in its
status and stays off: containers and minimal hosts have none.

Exactly once: every entry's ``__CURSOR`` names it; our own cursor file holds
the cursor of the last entry that is in the spool (``commit``), and a restart
resumes ``--after-cursor`` it. Entries read but not yet spooled are held and
offered again. Event ids are ``journald:<seqnum id>:<seqnum>`` from the
cursor, stable across restarts and resends.

A journal entry becomes the syslog line it stands for (``ident[pid]: MESSAGE``)
for the same parsers as files and syslog, then takes the entry's exact UTC
time, host, pid, priority and unit.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collectors.agent.parsers import parse_line
from collectors.agent.parsers.base import Doc, ParseContext, isoformat_utc, put

JOURNAL_DIRS = ("/run/systemd/journal", "/var/log/journal")
_CURSOR = re.compile(r"(?:^|;)s=(?P<s>[0-9a-f]+);i=(?P<i>[0-9a-f]+)")
_QUEUE = 10_000  # entries read ahead of the spool; journalctl waits (pipe) beyond this


@dataclass
class JournalRecord:
    event_id: str
    entry: dict[str, Any]
    cursor: str


def journal_absent(directory: str = "") -> str:
    """Why there is no journal to read here, or "" when there is one."""
    if shutil.which("journalctl") is None:
        return "journald input off: journalctl is not installed on this host"
    if directory:
        return "" if os.path.isdir(directory) else f"journald input off: no journal directory {directory}"
    if not any(os.path.isdir(d) for d in JOURNAL_DIRS):
        return "journald input off: this host has no systemd journal (" + " or ".join(JOURNAL_DIRS) + ")"
    return ""


def event_id_of(entry: dict[str, Any], fallback: str) -> str:
    found = _CURSOR.search(str(entry.get("__CURSOR", "")))
    return f"journald:{found['s']}:{found['i']}" if found else fallback


def field(entry: dict[str, Any], key: str) -> str:
    """A field as text; journalctl writes non-UTF-8 values as arrays of byte values."""
    value = entry.get(key)
    if isinstance(value, list):
        try:
            return bytes(v for v in value if isinstance(v, int) and 0 <= v < 256).decode("utf-8", "replace")
        except ValueError:
            return ""
    return "" if value is None else str(value)


def journal_doc(entry: dict[str, Any], ctx: ParseContext) -> Doc:
    """The ECS document of one journal entry."""
    try:
        moment = datetime.fromtimestamp(int(field(entry, "__REALTIME_TIMESTAMP")) / 1e6, UTC)
    except (ValueError, OverflowError, OSError):
        moment = ctx.now
    host = field(entry, "_HOSTNAME") or ctx.host
    ident = field(entry, "SYSLOG_IDENTIFIER") or field(entry, "_COMM") or "journal"
    pid = field(entry, "SYSLOG_PID") or field(entry, "_PID")
    local = moment.astimezone(ctx.tz)
    line = f"{local:%b} {local.day:2d} {local:%H:%M:%S} {host} {ident}{f'[{pid}]' if pid else ''}: " \
           + field(entry, "MESSAGE")
    doc = parse_line(line, ParseContext(host=host, tz=ctx.tz, now=moment))
    doc["@timestamp"] = isoformat_utc(moment)
    put(doc, "host.name", host)
    put(doc, "process.pid", int(pid) if pid.isdigit() and len(pid) < 10 else None)
    priority = field(entry, "PRIORITY")
    put(doc, "log.syslog.severity.code", int(priority) if priority.isdigit() and len(priority) < 3 else None)
    put(doc, "systemd.unit", field(entry, "_SYSTEMD_UNIT"))
    put(doc, "input.type", "journald")
    return doc


class JournaldInput:
    def __init__(self, name: str, spec: dict[str, Any], state: Path) -> None:
        self.name, self.spec = name, spec
        self.cursor_path = state / f"journald-{name}.cursor"
        self.held: list[JournalRecord] = []
        self.queue: queue.Queue[JournalRecord | None] = queue.Queue(maxsize=_QUEUE)
        self.proc: subprocess.Popen[bytes] | None = None
        self.read = 0
        self.error = journal_absent(str(spec.get("directory", "")))
        if not self.error:
            self._start()

    def _command(self) -> list[str]:
        cmd = ["journalctl", "-o", "json", "--follow", "--no-pager", "--output-fields=" + ",".join(_FIELDS)]
        if self.spec.get("directory"):
            cmd += ["--directory", str(self.spec["directory"])]
        cursor = self.cursor_path.read_text().strip() if self.cursor_path.exists() else ""
        if cursor:
            cmd += ["--after-cursor", cursor]
        else:  # first start: the whole journal ("start") or only what comes from now on ("end", the default)
            cmd += ["--no-tail"] if self.spec.get("from") == "start" else ["--lines=0"]
        return cmd

    def _start(self) -> None:
        self.proc = subprocess.Popen(self._command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._pump, name=f"journald-{self.name}", daemon=True).start()

    def _pump(self) -> None:
        """Reader thread: journalctl's lines into the bounded queue (None: it ended)."""
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                fallback = f"journald:{self.name}:{field(entry, '__REALTIME_TIMESTAMP') or 'unknown'}"
                self.queue.put(JournalRecord(event_id_of(entry, fallback), entry, field(entry, "__CURSOR")))
        self.queue.put(None)

    def poll(self, limit: int) -> list[JournalRecord]:
        while len(self.held) < limit:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._ended()
                break
            self.held.append(item)
        return self.held[:limit]

    def _ended(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        message = self.proc.stderr.read(500).decode("utf-8", "replace").strip()
        self.error = f"journalctl stopped (exit {self.proc.wait()}): {message}"[:300]

    def commit(self, records: list[JournalRecord]) -> None:
        """Called once ``records`` (the first held ones) are in the spool, fsynced."""
        if not records:
            return
        self.held = self.held[len(records):]
        tmp = self.cursor_path.with_suffix(".tmp")
        tmp.write_text(records[-1].cursor)
        os.replace(tmp, self.cursor_path)
        self.read += len(records)

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "type": "journald", "read": self.read, "held": len(self.held),
                **({"error": self.error} if self.error else {})}

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


_FIELDS = ("__CURSOR", "__REALTIME_TIMESTAMP", "MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "SYSLOG_PID",
           "_PID", "PRIORITY", "_SYSTEMD_UNIT")
