"""Windows event logs exported as ``.evtx`` files: each record once, in the same ECS as the JSON rendering.

Records are read with python-evtx (pure Python, optional: without it the
input says so in its status and stays off) and turned from their XML into
the dictionary shape ``evtx_dump`` writes (``#attributes``, ``#text``), so the
one Windows parser (``parsers/windows.py``) handles both.

Event ids are ``evtx:<computer>:<channel>:<EventRecordID>:<digest>``, the
digest being of the whole record (its time, data and all): the same record
exported twice (overlapping exports, a copied file) is one event centrally,
while two different records that share a number (Windows numbers a log again
from 1 after it is cleared, so exports from before and after a clear collide)
stay two. Progress is kept per file (path, size, mtime and the records done),
committed only after the events are in the spool.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collectors.agent.tail import expand

try:
    from Evtx.Evtx import Evtx
except ImportError:  # pragma: no cover - depends on the host
    Evtx = None

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAGIC = b"ElfFile\x00"


@dataclass
class EvtxRecord:
    event_id: str
    record: dict[str, Any]
    path: str
    number: int  # the record's position in its file (1-based), for the progress mark


def element_to_json(element: ET.Element) -> Any:
    """An XML element as evtx_dump renders it: text, or a dict of children / ``#attributes`` / ``#text``."""
    children = list(element)
    attributes = dict(element.attrib)
    text = (element.text or "").strip() if children else element.text
    if not children and not attributes:
        return text
    out: dict[str, Any] = {}
    if attributes:
        out["#attributes"] = attributes
    for child in children:
        tag = child.tag.rsplit("}", 1)[-1]
        value = element_to_json(child)
        if tag in out:
            out[tag] = [*out[tag], value] if isinstance(out[tag], list) else [out[tag], value]
        else:
            out[tag] = [value] if tag == "Data" else value
    if text:
        out["#text"] = text
    return out


def record_to_json(xml: str) -> dict[str, Any]:
    """``<Event>...</Event>`` to ``{"Event": {"System": ..., "EventData": ...}}``."""
    # A parser turns CR LF into LF; the record's text keeps its CRs (Winlogbeat's does too).
    root = ET.fromstring(xml.replace("\r", "&#13;"))  # noqa: S314 - python-evtx's rendering of binary records
    event = element_to_json(root)
    if isinstance(event, dict):
        event.pop("#attributes", None)  # the xmlns, which the JSON rendering keeps as an attribute too
    return {"Event": event if isinstance(event, dict) else {}}


def content_digest(record: dict[str, Any]) -> str:
    """64 bits of the record's canonical JSON: equal for a re-exported record, different after a log clear."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def event_id_of(record: dict[str, Any], fallback: str) -> str:
    """Record identity plus content digest (at most 5+60+80+20+16+4 characters: the ingest allows 200)."""
    system = record["Event"].get("System") or {}
    number = system.get("EventRecordID")
    digest = content_digest(record)
    if not isinstance(number, str) or not number.isdigit():
        return f"{fallback}:{digest}"
    computer = _UNSAFE.sub("_", str(system.get("Computer") or "unknown"))[:60]
    channel = _UNSAFE.sub("_", str(system.get("Channel") or "unknown"))[:80]
    return f"evtx:{computer}:{channel}:{number[:20]}:{digest}"


def read_records(path: str, skip: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """(position, record) of every record after the first ``skip``; unreadable records are skipped."""
    if Evtx is None:
        raise RuntimeError("python-evtx is not installed: the evtx input is off")
    with open(path, "rb") as fh:
        if fh.read(len(_MAGIC)) != _MAGIC:  # python-evtx would quietly find no records
            raise ValueError("not an .evtx file (no ElfFile header)")
    with Evtx(path) as log:
        for number, raw in enumerate(log.records(), start=1):
            if number <= skip:
                continue
            try:
                yield number, record_to_json(raw.xml())
            except (ET.ParseError, ValueError, UnicodeError, KeyError, IndexError):
                continue


class EvtxInput:
    """Exported .evtx files matching globs; a file that changes (size or mtime) is read on from where it was."""

    def __init__(self, name: str, patterns: list[str], state: Path) -> None:
        self.name, self.patterns = name, patterns
        self.state_path = state / f"evtx-{name}.json"
        self.done: dict[str, dict[str, int]] = self._load()
        self.error = "" if Evtx is not None else "python-evtx is not installed: the evtx input is off"
        self.read = 0
        self.complete: dict[str, dict[str, int]] = {}  # files the last poll read to their end
        self.polled = 0

    def _load(self) -> dict[str, dict[str, int]]:
        try:
            raw = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return raw if isinstance(raw, dict) else {}

    def _pending(self) -> Iterator[tuple[str, dict[str, int]]]:
        for path in expand(self.patterns):
            with contextlib.suppress(OSError):
                st = os.stat(path)
                mark = self.done.get(path, {})
                if (mark.get("size"), mark.get("mtime")) != (st.st_size, st.st_mtime_ns):
                    yield path, {"size": st.st_size, "mtime": st.st_mtime_ns, "records": mark.get("records", 0)}

    def poll(self, limit: int) -> list[EvtxRecord]:
        """Up to ``limit`` new records; files read to their end are remembered once ``commit`` is called."""
        if Evtx is None:
            return []
        out: list[EvtxRecord] = []
        self.complete = {}
        for path, mark in self._pending():
            try:
                for number, record in read_records(path, mark["records"]):
                    fallback = f"evtx:{_UNSAFE.sub('_', path)[-120:]}:{number}"
                    out.append(EvtxRecord(event_id_of(record, fallback), record, path, number))
                    if len(out) >= limit:
                        self.polled = len(out)
                        return out
            except (OSError, ValueError, RuntimeError) as exc:  # a truncated or foreign file: said, not fatal
                self.error = f"{path}: {exc}"[:300]
            self.complete[path] = mark
        self.polled = len(out)
        if not out:
            self.commit([])
        return out

    def commit(self, records: list[EvtxRecord]) -> None:
        """Called once ``records`` (the first of what ``poll`` returned) are in the spool, fsynced."""
        for record in records:
            mark = self.done.setdefault(record.path, {"records": 0})
            mark["records"] = max(mark.get("records", 0), record.number)
        for path, mark in self.complete.items() if len(records) == self.polled else ():
            self.done[path] = {**mark, "records": max(mark["records"], self.done.get(path, {}).get("records", 0))}
        self.complete = {}
        self.read += len(records)
        self._save()

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.done))
        os.replace(tmp, self.state_path)

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "type": "evtx", "files": len(self.done), "read": self.read,
                **({"error": self.error} if self.error else {})}

    def close(self) -> None:
        return None
