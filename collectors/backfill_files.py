"""An uploaded log file as ingest items, read with the agent's own readers and parsers.

The same normalisation as an agent shipping the file: ``.evtx`` records through ``evtx_input`` (their ids
unique across log clears) and the Windows parser; JSON lines through ``parse_json_record`` (Windows
renderings, Suricata eve, or kept whole as generic JSON); text lines through ``parse_line`` (syslog, sshd,
sudo, web access...). What comes out is ``{"id": ..., "doc": {...}}`` items for ``collectors.ingest``, which
then writes the server-owned fields and decides what is history (back-fill) exactly as for a collector.

Ids are stable for the same content (position and a digest of the record): a reading resumed or repeated
after a crash stores nothing twice (the events already stored are answered ``duplicate``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collectors.agent.evtx_input import event_id_of, read_records
from collectors.agent.parsers import parse_json_record, parse_line
from collectors.agent.parsers.base import ParseContext
from collectors.models import BackfillFormat

EVTX_MAGIC = b"ElfFile\x00"


class UnreadableFile(ValueError):
    """The file is not in the format it was given as (or recognised as); the message says why."""


def format_of(path: Path, given: str) -> str:
    """The format to read ``path`` in: the one given, or recognised from its first bytes."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if given == BackfillFormat.EVTX and not head.startswith(EVTX_MAGIC):
        raise UnreadableFile("not a Windows event log: an .evtx file starts with 'ElfFile'")
    if given != BackfillFormat.AUTO:
        return given
    if head.startswith(EVTX_MAGIC):
        return BackfillFormat.EVTX
    if b"\x00" in head:
        raise UnreadableFile("a binary file that is not an .evtx event log: upload text, JSON lines or .evtx")
    return BackfillFormat.JSON if head.lstrip().startswith(b"{") else BackfillFormat.TEXT


def items_of(path: Path, file_format: str, *, host: str, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every event of the file as an ingest item, in file order."""
    ctx = ParseContext(host=host, now=now or datetime.now(UTC))
    if file_format == BackfillFormat.EVTX:
        yield from _evtx_items(path, ctx)
    elif file_format == BackfillFormat.JSON:
        yield from _json_items(path, ctx)
    else:
        yield from _line_items(path, ctx)


def _evtx_items(path: Path, ctx: ParseContext) -> Iterator[dict[str, Any]]:
    try:
        for number, record in read_records(str(path)):
            event_id = event_id_of(record, f"evtx:upload:{number}")
            yield {"id": event_id, "doc": parse_json_record(record, ctx, source="windows")}
    except (OSError, ValueError, RuntimeError) as exc:  # a truncated file: what was read stays read
        raise UnreadableFile(f"the event log could not be read to its end: {exc}") from exc


def _line_items(path: Path, ctx: ParseContext) -> Iterator[dict[str, Any]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if text.strip():
                yield {"id": _item_id("line", number, raw), "doc": parse_line(text, ctx)}


def _json_items(path: Path, ctx: ParseContext) -> Iterator[dict[str, Any]]:
    """JSON lines, or JSON objects one after another over several lines (``evtx_dump``'s output); what does not
    decode is read as a text line, so a broken line costs its own detail only."""
    text, decoder, position, number = path.read_bytes().decode("utf-8", errors="replace"), json.JSONDecoder(), 0, 0
    while True:
        position = _skip_space(text, position)
        if position >= len(text):
            return
        number += 1
        try:
            record, end = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            record, end = None, _line_end(text, position)
        chunk = text[position:end]
        position = end
        doc = parse_json_record(record, ctx, original=chunk) if isinstance(record, dict) else parse_line(chunk, ctx)
        yield {"id": _item_id("json", number, chunk.encode("utf-8", "surrogatepass")), "doc": doc}


def _item_id(kind: str, number: int, content: bytes) -> str:
    """Position and content: the same file twice is the same events; two equal lines stay two."""
    return f"{kind}:{number}:{hashlib.blake2b(content, digest_size=8).hexdigest()}"


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end < 0 else end
