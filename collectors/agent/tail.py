"""File tailing with offsets saved only after the central side confirmed storage.

A file is identified by (device, inode): its events get ids
``<file identity>:<byte offset of the line>``, stable across restarts and
resends, and distinct for identical lines (attacks repeat lines verbatim).
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

MAX_LINE_BYTES = 1024 * 1024


@dataclass
class Line:
    file_id: str
    offset: int  # byte offset of the line's first byte
    end: int  # byte offset just past its newline
    text: str

    @property
    def event_id(self) -> str:
        return f"{self.file_id}:{self.offset}"


def file_identity(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_dev:x}-{st.st_ino:x}"


class OffsetStore:
    """Offsets per file identity, written atomically (rename) so a crash never corrupts them."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "offsets.json"
        state_dir.mkdir(parents=True, exist_ok=True)
        self.offsets: dict[str, int] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, file_id: str) -> int:
        return self.offsets.get(file_id, 0)

    def commit(self, file_id: str, offset: int) -> None:
        self.offsets[file_id] = offset
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.offsets))
        os.replace(tmp, self.path)


def read_new_lines(path: str, offset: int, limit: int) -> list[Line]:
    """Complete lines from ``offset``; a partial last line waits for its newline.

    An offset beyond the file's size means the file was truncated in place
    (copytruncate): start again from the beginning.
    """
    file_id = file_identity(path)
    if offset > os.path.getsize(path):
        offset = 0
    lines: list[Line] = []
    with open(path, "rb") as fh:
        fh.seek(offset)
        while len(lines) < limit:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw or (not raw.endswith(b"\n") and len(raw) <= MAX_LINE_BYTES):
                break
            lines.append(Line(file_id, offset, offset + len(raw), raw.decode("utf-8", "replace")))
            offset += len(raw)
    return lines


def expand(patterns: list[str]) -> list[str]:
    return sorted({p for pattern in patterns for p in glob.glob(pattern) if os.path.isfile(p)})
