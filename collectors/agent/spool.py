"""A bounded on-disk spool between reading and sending.

Layout of ``<state>/spool/``: append-only segment files ``<seq>.seg`` and a
``cursor.json`` naming the first record not yet confirmed by the central side.
Each record is framed as::

    length (u32 LE) | crc32 (u32 LE) of body | body = appended_at_ms (u64 LE) + JSON event

Durability (fsync policy): ``sync()`` fsyncs the active segment; file inputs
call it before they persist their own offsets, so an offset on disk never
claims a line the spool could lose in a power cut, and the agent calls it
once per read cycle (every ``poll_seconds``) for what syslog listeners
appended. Rolling to a new segment fsyncs the old one. The cursor is not
fsynced: losing its last move only resends confirmed events, which the
central side answers as ``duplicate`` (ids are deterministic).

Crash safety: after a restart the last segment is scanned and a torn last
record (partial frame, bad checksum) is truncated away; writing always
continues in a fresh segment. A corrupt record found while reading a
segment moves that segment to ``quarantine/`` and is reported in the stats,
so a bad file can never put the agent in a crash loop.

Memory stays bounded: the spool keeps only counters in memory and reads one
batch at a time from disk.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.agent import jsonfast

log = logging.getLogger("soc-agent.spool")

_HEADER = struct.Struct("<II")
_STAMP = struct.Struct("<Q")
MAX_RECORD_BYTES = 8 * 1024 * 1024
BLOCK, DROP_OLDEST = "block", "drop_oldest"
GAP_PREFIX = "gap:"  # ids of the agent's own "events were dropped" events


class SpoolFull(Exception):
    """The spool is at its byte limit and the policy is ``block``."""


class CorruptRecord(Exception):
    pass


@dataclass
class Record:
    segment: int
    offset: int
    end: int
    appended_at: float
    raw: bytes  # the event's JSON as spooled: sent as it is, never decoded and encoded again on the way out
    id: str

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = jsonfast.loads(self.raw)
        return event


@dataclass
class DropReport:
    """What ``drop_oldest`` removed before it was sent: becomes a gap event."""

    records: int = 0  # what the gap event reports, including counts carried from dropped gap events
    fresh: int = 0  # events dropped in this report for the first time
    first_ts: str = ""
    last_ts: str = ""
    segments: list[int] = field(default_factory=list)

    def widen(self, first: object, last: object) -> None:
        if isinstance(first, str) and first:
            self.first_ts = min(self.first_ts or first, first)
        if isinstance(last, str) and last:
            self.last_ts = max(self.last_ts, last)


@dataclass
class SpoolStats:
    depth: int
    bytes: int
    oldest_unsent_age: float
    dropped: int
    quarantined: int
    truncated_bytes: int


def frame(event: dict[str, Any], appended_at: float | None = None) -> bytes:
    stamp = int((time.time() if appended_at is None else appended_at) * 1000)
    body = _STAMP.pack(stamp) + jsonfast.dumps(event)  # events are built {"id": ..., ...}: see _event_id
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def read_frame(fh: Any, segment: int, offset: int) -> Record | None:
    """The record at ``offset`` (None at a clean end). Raises CorruptRecord on a torn or bad frame."""
    header = fh.read(_HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise CorruptRecord("partial header")
    length, crc = _HEADER.unpack(header)
    if length < _STAMP.size or length > MAX_RECORD_BYTES:
        raise CorruptRecord(f"impossible length {length}")
    body = fh.read(length)
    if len(body) < length or zlib.crc32(body) != crc:
        raise CorruptRecord("checksum mismatch" if len(body) == length else "partial body")
    raw = body[_STAMP.size:]
    (stamp,) = _STAMP.unpack(body[:_STAMP.size])
    return Record(segment, offset, offset + _HEADER.size + length, stamp / 1000, raw, _event_id(raw))


_ID_FIRST = b'{"id":"'


def _event_id(raw: bytes) -> str:
    """The event's id. Events are spooled as ``{"id": ..., ...}`` (``frame``), so it is read off the front;
    anything else (an escaped id, another writer) is decoded whole. Raises CorruptRecord if it is not an event."""
    if raw.startswith(_ID_FIRST):
        end = raw.find(b'"', len(_ID_FIRST))
        candidate = raw[len(_ID_FIRST):end]
        if end > 0 and b"\\" not in candidate:
            try:
                return candidate.decode()
            except UnicodeDecodeError:
                pass
    try:
        event = jsonfast.loads(raw)
    except ValueError as exc:
        raise CorruptRecord("body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise CorruptRecord("body is not an event with an id")
    return str(event["id"])


class Spool:
    """Thread-safe: inputs append, one sender reads and acknowledges."""

    def __init__(self, directory: Path, *, max_bytes: int, policy: str = BLOCK,
                 segment_bytes: int = 4 * 1024 * 1024) -> None:
        if policy not in (BLOCK, DROP_OLDEST):
            raise ValueError(f"spool policy must be {BLOCK!r} or {DROP_OLDEST!r}, got {policy!r}")
        self.dir = directory
        self.quarantine_dir = directory / "quarantine"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.policy = max_bytes, policy
        self.segment_bytes = max(4096, min(segment_bytes, max_bytes // 4))
        self.lock = threading.RLock()
        self.dropped = self.quarantined = self.truncated_bytes = 0
        self.pending_drop = DropReport()
        self.errors: list[str] = []  # reported in the heartbeat, then cleared
        self.dirty = False
        self._recover()

    # ---- start-up -------------------------------------------------------
    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.dir.glob("*.seg") if p.stem.isdigit())

    def _path(self, seq: int) -> Path:
        return self.dir / f"{seq:012d}.seg"

    def _recover(self) -> None:
        segments = self._segments()
        if segments:
            self._truncate_torn_tail(segments[-1])
        self.cursor = self._load_cursor(segments)
        self.active = (segments[-1] + 1) if segments else max(1, self.cursor[0])
        self._fh = open(self._path(self.active), "ab")  # noqa: SIM115 - held open for appends
        self.active_size = 0
        self.total_bytes = self._disk_size()
        self.depth = self._count_unsent()

    def _truncate_torn_tail(self, seq: int) -> None:
        """A crash mid-append leaves a partial last record: cut the file after the last good one."""
        path = self._path(seq)
        good = 0
        with open(path, "rb") as fh:
            while True:
                try:
                    record = read_frame(fh, seq, good)
                except CorruptRecord:
                    break
                if record is None:
                    break
                good = record.end
        size = path.stat().st_size
        if size > good:
            log.warning("spool: truncating %d torn bytes at the end of %s", size - good, path.name)
            self.truncated_bytes += size - good
            os.truncate(path, good)

    def _load_cursor(self, segments: list[int]) -> tuple[int, int]:
        path = self.dir / "cursor.json"
        try:
            seg, off = json.loads(path.read_text())
            cursor = (int(seg), int(off))
        except (OSError, ValueError, TypeError):
            cursor = (segments[0], 0) if segments else (1, 0)
        if segments and cursor[0] < segments[0]:
            cursor = (segments[0], 0)
        return cursor

    def _count_unsent(self) -> int:
        """Records after the cursor: headers only, seeking over bodies."""
        count = 0
        for seq in self._segments():
            if seq < self.cursor[0]:
                continue
            with open(self._path(seq), "rb") as fh:
                fh.seek(self.cursor[1] if seq == self.cursor[0] else 0)
                while (header := fh.read(_HEADER.size)) and len(header) == _HEADER.size:
                    fh.seek(_HEADER.unpack(header)[0], os.SEEK_CUR)
                    count += 1
        return count

    # ---- writing --------------------------------------------------------
    def size(self) -> int:
        return self.total_bytes

    def _disk_size(self) -> int:
        return sum(self._path(s).stat().st_size for s in self._segments())

    def append(self, events: list[dict[str, Any]]) -> None:
        """Append whole events. Raises SpoolFull (policy block) and writes nothing of this call."""
        frames = [frame(e) for e in events]
        needed = sum(map(len, frames))
        with self.lock:
            if self.total_bytes + needed > self.max_bytes:
                if self.policy == BLOCK or needed > self.max_bytes:
                    raise SpoolFull(f"spool holds {self.total_bytes} of {self.max_bytes} bytes")
                self._drop_oldest(needed)
            for data in frames:
                if self.active_size and self.active_size + len(data) > self.segment_bytes:
                    self._roll()
                self._fh.write(data)
                self.active_size += len(data)
            self._fh.flush()
            self.total_bytes += needed
            self.depth += len(frames)
            self.dirty = True

    def sync(self) -> None:
        """fsync what was appended since the last sync (nothing to do if nothing was)."""
        with self.lock:
            if not self.dirty:
                return
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.dirty = False

    def _roll(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self.active += 1
        self._fh = open(self._path(self.active), "ab")  # noqa: SIM115
        self.active_size = 0

    def _unlink(self, seq: int) -> None:
        path = self._path(seq)
        try:
            self.total_bytes -= path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            pass

    def _drop_oldest(self, needed: int) -> None:
        """Delete whole oldest segments until ``needed`` fits, counting what was never sent."""
        for seq in self._segments():
            if self.total_bytes + needed <= self.max_bytes:
                return
            if seq == self.active:
                self._roll()
            self._account_drop(seq)
            self._unlink(seq)
            if self.cursor[0] <= seq:
                self.cursor = (seq + 1, 0)
                self._save_cursor()

    def _account_drop(self, seq: int) -> None:
        if seq < self.cursor[0]:
            return  # already confirmed: nothing is lost
        report = self.pending_drop
        for record in self._scan(seq, self.cursor[1] if seq == self.cursor[0] else 0):
            self.depth = max(0, self.depth - 1)
            doc = record.event.get("doc")
            doc = doc if isinstance(doc, dict) else {}
            if str(record.event.get("id", "")).startswith(GAP_PREFIX):
                # A dropped gap event hands its count on to the next one: the report stays complete.
                event = doc.get("event", {})
                report.records += int(event.get("count", 0))
                report.widen(event.get("start"), event.get("end"))
            else:
                report.records += 1
                report.fresh += 1
                report.widen(doc.get("@timestamp"), doc.get("@timestamp"))
        report.segments.append(seq)

    def take_drop_report(self) -> DropReport | None:
        """What was dropped since the last call (the caller turns it into a gap event)."""
        with self.lock:
            report, self.pending_drop = self.pending_drop, DropReport()
            if not report.records:
                return None
            self.dropped += report.fresh
            return report

    # ---- reading --------------------------------------------------------
    def _scan(self, seq: int, start: int) -> list[Record]:
        """Every readable record of a segment that is about to go (bounded by the segment size)."""
        records: list[Record] = []
        try:
            with open(self._path(seq), "rb") as fh:
                fh.seek(start)
                offset = start
                while (record := read_frame(fh, seq, offset)) is not None:
                    records.append(record)
                    offset = record.end
        except (CorruptRecord, OSError):
            pass
        return records

    def read_batch(self, limit: int, max_bytes: int = 4 * 1024 * 1024,
                   start: tuple[int, int] | None = None) -> list[Record]:
        """Up to ``limit`` unsent records from the cursor (or ``start``, ahead of it), in order.

        Nothing is removed: records go only when acknowledged.
        """
        with self.lock:
            self._fh.flush()
            batch: list[Record] = []
            size = 0
            seq, offset = max(start, self.cursor) if start else self.cursor
            while len(batch) < limit and size < max_bytes and seq <= self.active:
                got = self._read_segment(seq, offset, limit - len(batch), max_bytes - size)
                batch += got
                size += sum(r.end - r.offset for r in got)
                if seq >= self.active:
                    break
                seq, offset = seq + 1, 0
            return batch

    def _read_segment(self, seq: int, offset: int, limit: int, max_bytes: int) -> list[Record]:
        records: list[Record] = []
        size = 0
        try:
            fh = open(self._path(seq), "rb")  # noqa: SIM115
        except FileNotFoundError:
            return []
        with fh:
            fh.seek(offset)
            while len(records) < limit and size < max_bytes:
                try:
                    record = read_frame(fh, seq, offset)
                except CorruptRecord as exc:
                    self._quarantine(seq, offset, str(exc))
                    return []
                if record is None:
                    break
                records.append(record)
                size += record.end - record.offset
                offset = record.end
        return records

    def _quarantine(self, seq: int, offset: int, reason: str) -> None:
        """Set a corrupt segment aside (its good records too: an operator can inspect it) and go on."""
        if seq == self.active:
            self._roll()
        self.quarantine_dir.mkdir(exist_ok=True)
        path = self._path(seq)
        self.total_bytes -= path.stat().st_size
        os.replace(path, self.quarantine_dir / path.name)
        self.quarantined += 1
        self.errors.append(f"spool segment {path.name} corrupt at byte {offset} ({reason}): quarantined")
        log.error("spool: segment %s is corrupt at byte %d (%s): moved to quarantine/", path.name, offset, reason)
        if self.cursor[0] == seq:
            self.cursor = (seq + 1, 0)
            self._save_cursor()
        self.depth = self._count_unsent()

    def ack(self, records: list[Record]) -> None:
        """The central side confirmed these records (a prefix from the cursor): let them go."""
        if not records:
            return
        with self.lock:
            last = records[-1]
            if (last.segment, last.end) <= self.cursor:
                return  # dropped or quarantined meanwhile
            self.depth = max(0, self.depth - sum(1 for r in records if (r.segment, r.offset) >= self.cursor))
            self.cursor = (last.segment, last.end)
            for seq in self._segments():
                if seq < last.segment:
                    self._unlink(seq)
            if last.segment != self.active and last.end >= self._path(last.segment).stat().st_size:
                self._unlink(last.segment)
                self.cursor = (last.segment + 1, 0)
            self._save_cursor()

    def _save_cursor(self) -> None:
        tmp = self.dir / "cursor.tmp"
        tmp.write_text(json.dumps(list(self.cursor)))
        os.replace(tmp, self.dir / "cursor.json")

    # ---- reporting ------------------------------------------------------
    def stats(self) -> SpoolStats:
        with self.lock:
            oldest = self.read_batch(1)
            age = max(0.0, time.time() - oldest[0].appended_at) if oldest else 0.0
            return SpoolStats(depth=self.depth, bytes=self.size(), oldest_unsent_age=round(age, 3),
                              dropped=self.dropped + self.pending_drop.fresh, quarantined=self.quarantined,
                              truncated_bytes=self.truncated_bytes)

    def close(self) -> None:
        with self.lock:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
