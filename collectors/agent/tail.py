"""File tailing: globs, rotation by rename and by copytruncate, resumable offsets.

A file is known by its (device, inode) key and read through a handle kept
open, so a file renamed away is still read to its end. Its events get ids
``<file id>:<byte offset of the line>``: stable across restarts and resends
(the central side answers a resend as ``duplicate``) and distinct for
identical lines, which attacks repeat verbatim.

The file id is the inode key plus a generation (``.g2``) that moves on when
the file is truncated in place or its first bytes change (inode reused), so
new lines at old offsets never collide with the ids of lines already shipped.
With copytruncate, the copy (``app.log.1``) starts with the same bytes as the
file it was copied from: it is read under that file's id from that file's
offset, so the lines written between our last read and the truncation are
shipped once, and the lines already shipped are not shipped again.

Offsets are committed only after the lines are in the spool (fsynced), see
``FileInput.commit``.
"""

from __future__ import annotations

import glob
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MAX_LINE_BYTES = 1024 * 1024
HEAD_BYTES = 256
MIN_COPY_HEAD = 32  # a shorter head is too weak to recognise a copytruncate copy by
IDLE_CLOSE_SECONDS = 5.0  # a file no glob matches any more is closed after this long without growth
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")


@dataclass(slots=True)
class Line:
    file_id: str
    offset: int  # byte offset of the line's first byte
    end: int  # byte offset just past its newline
    text: str
    key: str = ""  # inode key of the file it was read from

    @property
    def event_id(self) -> str:
        return f"{self.file_id}:{self.offset}"


def inode_key(st: os.stat_result) -> str:
    return f"{st.st_dev:x}-{st.st_ino:x}"


def file_identity(path: str) -> str:
    return inode_key(os.stat(path))


@dataclass
class Entry:
    """What is saved per file: the id its events carry, the committed offset, its first bytes."""

    id: str
    offset: int = 0
    gen: int = 0
    head: str = ""  # hex of up to HEAD_BYTES first bytes
    path: str = ""  # where it was last seen: a file renamed while we were stopped is found beside it

    @property
    def head_bytes(self) -> bytes:
        return bytes.fromhex(self.head)


class OffsetStore:
    """Entries per inode key, written atomically (rename) so a crash never corrupts them."""

    def __init__(self, state_dir: Path, name: str = "offsets.json") -> None:
        self.path = state_dir / name
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError):
            raw = {}
        self.entries: dict[str, Entry] = {}
        for key, value in raw.items():
            if isinstance(value, dict):
                self.entries[key] = Entry(**value)
            elif isinstance(value, int):  # the first format: {key: offset}
                self.entries[key] = Entry(id=key, offset=value)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: vars(e) for k, e in self.entries.items()}))
        os.replace(tmp, self.path)


@dataclass
class Tracked:
    key: str
    path: str
    fh: IO[bytes]
    entry: Entry
    matched: bool = True
    last_growth: float = field(default_factory=time.monotonic)
    size: int = 0
    # The file's first bytes as seen when its lines were read (not when they are committed: by then
    # the file may have been truncated and rewritten, and a head taken late would hide that).
    head_seen: bytes = b""


def expand(patterns: list[str]) -> list[str]:
    """The regular files the globs match; ``**`` matches any depth of folders (``/srv/evtx/**/*.evtx``)."""
    found = {p for pattern in patterns for p in glob.glob(pattern, recursive=True)}
    return sorted(p for p in found if os.path.isfile(p) and not p.endswith(_COMPRESSED))


def _read_head(fh: IO[bytes]) -> bytes:
    fh.seek(0)
    return fh.read(HEAD_BYTES)


class FileInput:
    """Tails the files matching ``patterns``. ``poll`` reads; ``commit`` records what the spool holds."""

    def __init__(self, name: str, patterns: list[str], store: OffsetStore) -> None:
        self.name, self.patterns, self.store = name, list(patterns), store
        self.files: dict[str, Tracked] = {}
        self.errors: list[str] = []
        self._discovered = False

    # ---- discovery ------------------------------------------------------
    def _discover(self) -> None:
        first = not self._discovered
        self._discovered = True
        for tracked in self.files.values():
            tracked.matched = False
        for path in expand(self.patterns):
            try:
                st = os.stat(path)
            except OSError:
                continue
            key = inode_key(st)
            if key in self.files:
                self.files[key].matched, self.files[key].path = True, path
                self.files[key].entry.path = path
                continue
            self._open(path, key)
        if first:
            self._find_renamed_while_stopped()

    def _find_renamed_while_stopped(self) -> None:
        """Files rotated away while the agent was stopped are read to their end; the rest are forgotten."""
        for key in set(self.store.entries) - set(self.files):
            entry = self.store.entries.pop(key)
            directory, base = os.path.split(entry.path)
            if not base:
                continue
            for candidate in glob.glob(os.path.join(glob.escape(directory), glob.escape(base) + "*")):
                try:
                    if inode_key(os.stat(candidate)) != key:
                        continue
                except OSError:
                    continue
                self.store.entries[key] = entry
                renamed = self._open(candidate, key)
                if renamed is not None:
                    renamed.matched = False
                break

    def _open(self, path: str, key: str) -> Tracked | None:
        try:
            fh = open(path, "rb")  # noqa: SIM115 - kept open to read a renamed file to its end
        except OSError as exc:
            self.errors.append(f"{path}: {exc.strerror}")
            return None
        head = _read_head(fh)
        entry = self.store.entries.get(key)
        if entry is None and self._maybe_copy_in_progress(head):
            fh.close()  # look again at the next poll, once more of it is written
            return None
        if entry is None:
            entry = self._copy_of(head) or Entry(id=key)
        elif not head.startswith(entry.head_bytes) or os.fstat(fh.fileno()).st_size < entry.offset:
            entry = self._next_generation(key, entry)
        entry.path = path
        self.store.entries[key] = entry
        tracked = Tracked(key=key, path=path, fh=fh, entry=entry)
        self.files[key] = tracked
        return tracked

    def _copy_of(self, head: bytes) -> Entry | None:
        """A new file that starts with a tracked file's first bytes is a copytruncate copy of it."""
        if len(head) < MIN_COPY_HEAD:
            return None
        for tracked in self.files.values():
            known = tracked.entry.head_bytes
            if len(known) >= MIN_COPY_HEAD and head.startswith(known):
                return Entry(id=tracked.entry.id, offset=tracked.entry.offset, gen=-1, head=known.hex())
        return None

    def _maybe_copy_in_progress(self, head: bytes) -> bool:
        """Empty, or so far only a prefix of a tracked file's head: it may be a copy being written."""
        if not head:
            return True
        return any(len(head) < len(t.entry.head_bytes) and t.entry.head_bytes.startswith(head)
                   for t in self.files.values())

    @staticmethod
    def _next_generation(key: str, old: Entry) -> Entry:
        gen = old.gen + 1 if old.gen >= 0 else 1
        return Entry(id=f"{key}.g{gen}", offset=0, gen=gen)

    # ---- reading --------------------------------------------------------
    def poll(self, limit: int, max_bytes: int = 8 * 1024 * 1024) -> list[Line]:
        """Complete new lines of every file, at most ``limit``; nothing is committed here."""
        self._discover()
        lines: list[Line] = []
        for key in list(self.files):
            if len(lines) >= limit:
                break  # the rest wait for the next poll; none of them is judged idle meanwhile
            tracked = self.files[key]
            if self._truncated(tracked):
                self._handle_truncation(tracked)
            got = self._read(tracked, limit - len(lines), max_bytes)
            lines += got
            if not got and not tracked.matched:
                lines += self._maybe_close(tracked)
        return lines

    def _truncated(self, tracked: Tracked) -> bool:
        try:
            size = os.fstat(tracked.fh.fileno()).st_size
        except OSError:
            return False
        if size > tracked.size:
            tracked.size, tracked.last_growth = size, time.monotonic()
        if size < tracked.entry.offset:
            return True
        known = tracked.entry.head_bytes
        return bool(known) and not _read_head(tracked.fh).startswith(known)

    def _handle_truncation(self, tracked: Tracked) -> None:
        """Ship the copy's tail under the old id (if a copy is found), then start a new generation."""
        old = tracked.entry
        self._adopt_copy(tracked, old)
        tracked.entry = self._next_generation(tracked.key, old)
        tracked.entry.path = tracked.path
        tracked.size = 0
        self.store.entries[tracked.key] = tracked.entry

    def _adopt_copy(self, tracked: Tracked, old: Entry) -> None:
        directory, base = os.path.split(tracked.path)
        known = old.head_bytes
        if len(known) < MIN_COPY_HEAD:
            return
        for candidate in sorted(glob.glob(os.path.join(glob.escape(directory), glob.escape(base) + "?*"))):
            try:
                st = os.stat(candidate)
            except OSError:
                continue
            key = inode_key(st)
            if key in self.files or key in self.store.entries or st.st_size < old.offset:
                continue
            with open(candidate, "rb") as fh:
                if fh.read(len(known)) != known:
                    continue
            self.store.entries[key] = Entry(id=old.id, offset=old.offset, gen=-1, head=old.head)
            copy = self._open(candidate, key)
            if copy is not None:
                copy.matched = False  # drained to its end, then closed, unless a glob matches it
            return

    def _read(self, tracked: Tracked, limit: int, max_bytes: int) -> list[Line]:
        entry, fh = tracked.entry, tracked.fh
        offset, size = entry.offset, 0
        lines: list[Line] = []
        if len(entry.head) < HEAD_BYTES * 2:
            tracked.head_seen = _read_head(fh)
        fh.seek(offset)
        while len(lines) < limit and size < max_bytes:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw or (not raw.endswith(b"\n") and len(raw) <= MAX_LINE_BYTES):
                break
            lines.append(Line(entry.id, offset, offset + len(raw), raw.decode("utf-8", "replace"), tracked.key))
            offset += len(raw)
            size += len(raw)
        return lines

    def _maybe_close(self, tracked: Tracked) -> list[Line]:
        """A file no glob matches: once idle, ship its unterminated last line and let it go."""
        if time.monotonic() - tracked.last_growth < IDLE_CLOSE_SECONDS:
            return []
        tracked.fh.seek(tracked.entry.offset)
        rest = tracked.fh.read(MAX_LINE_BYTES)
        if b"\n" in rest:
            return []  # complete lines still to read (a read that found none was cut short): not idle
        if rest:
            entry = tracked.entry
            return [Line(entry.id, entry.offset, entry.offset + len(rest), rest.decode("utf-8", "replace"),
                         tracked.key)]
        tracked.fh.close()
        del self.files[tracked.key]
        self.store.entries.pop(tracked.key, None)
        self.store.save()
        return []

    # ---- after the spool holds the lines -------------------------------
    def commit(self, lines: list[Line]) -> None:
        """Move offsets past lines now safely in the spool, and persist them."""
        ends: dict[tuple[str, str], int] = {}  # per file and id, the furthest end: one update per file, not per line
        for line in lines:
            ends[line.key, line.file_id] = max(ends.get((line.key, line.file_id), 0), line.end)
        for (key, file_id), end in ends.items():
            tracked = self.files.get(key)
            if tracked is None or tracked.entry.id != file_id:
                continue
            tracked.entry.offset = max(tracked.entry.offset, end)
            known = tracked.entry.head_bytes
            seen = tracked.head_seen[: tracked.entry.offset]
            if len(seen) > len(known) and seen.startswith(known):
                tracked.entry.head = seen.hex()
        if lines:
            self.store.save()

    def close(self) -> None:
        for tracked in self.files.values():
            tracked.fh.close()
        self.files.clear()

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "type": "file", "files": len(self.files),
                "paths": sorted(t.path for t in self.files.values())}
