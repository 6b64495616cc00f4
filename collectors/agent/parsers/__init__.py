"""Source registry: which parser handles a record, and the generic fallback.

``parse_line`` and ``parse_json_record`` never raise: a record no parser
understands (or one that trips a parser bug) still becomes an event with
``event.original`` and ``event.dataset: generic``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any, NamedTuple

from . import (
    apache_error,
    firewall,
    ftpd,
    login,
    nginx_error,
    pam,
    shadow,
    sshd,
    su,
    sudo,
    suricata,
    system,
    web_access,
    windows,
)
from .base import ECS_VERSION, MAX_LINE, Doc, ParseContext, get, isoformat_utc, put
from .syslog import SyslogHeader, base_doc, parse_header

__all__ = ["ParseContext", "Parsed", "parse", "parse_json_record", "parse_line"]

TEXT_SOURCES: tuple[ModuleType, ...] = (
    sshd, su, sudo, shadow, login, ftpd, web_access, apache_error, nginx_error, firewall, system,
)
JSON_SOURCES: tuple[ModuleType, ...] = (windows, suricata)

# syslog ident -> the sources to try, in TEXT_SOURCES order (nginx: access, then error lines)
_BY_PROGRAM: dict[str, tuple[ModuleType, ...]] = {}
for _source in TEXT_SOURCES:
    for _prog in _source.programs:
        _BY_PROGRAM[_prog] = (*_BY_PROGRAM.get(_prog, ()), _source)
_BARE = tuple(s for s in TEXT_SOURCES if s.bare)
_BY_NAME: dict[str, ModuleType] = {s.name: s for s in (*TEXT_SOURCES, *JSON_SOURCES)}
_JSON_NAMES = frozenset(s.name for s in JSON_SOURCES)

# "sshd(pam_unix)" (old PAM framing), "syslogd 1.4.1" (version in the ident)
_IDENT = re.compile(r"(?P<prog>[^(\s]+)(?:\((?P<pam>pam_\w+)\))?")


class Parsed(NamedTuple):
    doc: Doc
    source: str  # the source's ``name``, or "generic" for the fallback


def parse_line(line: str, ctx: ParseContext, *, source: str | None = None) -> Doc:
    """One text line to an ECS document. ``source`` forces a parser by name (a file's known format)."""
    return parse(line, ctx, source=source).doc


def parse(line: str, ctx: ParseContext, *, source: str | None = None) -> Parsed:
    """As ``parse_line``, and says which source took the line."""
    try:
        return _parse_line(line, ctx, source)
    except Exception as exc:  # a parser bug must cost one event's detail, never the event
        return _fallback(line, ctx, exc)


def parse_json_record(record: Mapping[str, Any], ctx: ParseContext, *, source: str | None = None,
                      original: str | None = None) -> Doc:
    """One decoded JSON record (Suricata eve, Windows event rendering) to an ECS document."""
    return parse_record(record, ctx, source=source, original=original).doc


def parse_record(record: Mapping[str, Any], ctx: ParseContext, *, source: str | None = None,
                 original: str | None = None) -> Parsed:
    try:
        parsed = _parse_json(record, ctx, source)
    except Exception as exc:
        parsed = _fallback(original if original is not None else _dump(record), ctx, exc)
    if original is not None:
        put(parsed.doc, "event.original", original[:MAX_LINE])
    return parsed


def _parse_line(line: str, ctx: ParseContext, source: str | None) -> Parsed:
    line, truncated = _bounded(line.rstrip("\r\n"))
    if line.startswith("{") and (source is None or source in _JSON_NAMES):
        parsed = _parse_json_text(line, ctx, source)
    else:
        parsed = _parse_text(line, ctx, source)
    if truncated:
        put(parsed.doc, "log.flags", ["truncated"])
    return parsed


def _parse_text(line: str, ctx: ParseContext, source: str | None) -> Parsed:
    forced = _BY_NAME.get(source or "")
    header = None if forced in _BARE else parse_header(line, ctx)
    doc = base_doc(line, header, ctx)
    if header is not None:
        parsed_by = _parse_framed(header, doc, ctx, forced)
    else:
        candidates = (forced,) if forced in _BARE else _BARE
        parsed_by = next((s.name for s in candidates if s.parse_message(line, doc, ctx)), None)
    return _finish(doc, parsed_by)


def _parse_framed(header: SyslogHeader, doc: Doc, ctx: ParseContext, forced: ModuleType | None) -> str | None:
    ident = _IDENT.match(header.program)
    program = ident["prog"] if ident else header.program
    if header.program.startswith("-- "):  # login(1) logs "ROOT LOGIN ON tty2" under ident "-- root"
        program = "login"
    put(doc, "process.name", program)
    sources = (forced,) if forced else _BY_PROGRAM.get(program, ())
    if ident and ident["pam"]:
        put(doc, "system.auth.pam.module", ident["pam"])
        if pam.parse_body(header.message, doc, service=program):
            return str(sources[0].name) if sources else pam.name
    return next((str(s.name) for s in sources if s.parse_message(header.message, doc, ctx)), None)


def _parse_json_text(line: str, ctx: ParseContext, source: str | None) -> Parsed:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict):
        return _parse_text(line, ctx, None)
    return parse_record(record, ctx, source=source, original=line)


def _parse_json(record: Mapping[str, Any], ctx: ParseContext, source: str | None) -> Parsed:
    forced = _BY_NAME.get(source or "")
    for module in (forced,) if forced in JSON_SOURCES else JSON_SOURCES:
        if module.matches(record):
            doc: Doc = module.parse_record(record, ctx)
            put(doc, "host.name", get(doc, "host.name") or ctx.host)
            return _finish(doc, module.name)
    return _finish(_generic_json(record, ctx), None)


def _generic_json(record: Mapping[str, Any], ctx: ParseContext) -> Doc:
    doc: Doc = {"@timestamp": isoformat_utc(ctx.now)}
    put(doc, "event.original", _dump(record))
    put(doc, "host.name", ctx.host)
    return doc


def _finish(doc: Doc, parsed_by: str | None) -> Parsed:
    if parsed_by is None:
        put(doc, "event.kind", "event")
        put(doc, "event.dataset", "generic")
    put(doc, "ecs.version", ECS_VERSION)
    return Parsed(doc, parsed_by or "generic")


def _fallback(text: str, ctx: ParseContext, exc: Exception) -> Parsed:
    doc: Doc = {"@timestamp": isoformat_utc(ctx.now), "event": {"original": _bounded(text)[0]}}
    put(doc, "host.name", ctx.host)
    put(doc, "error.message", f"parser error: {type(exc).__name__}")
    return _finish(doc, None)


def _bounded(text: str) -> tuple[str, bool]:
    return (text[:MAX_LINE], True) if len(text) > MAX_LINE else (text, False)


def _dump(record: Mapping[str, Any]) -> str:
    try:
        return json.dumps(record, ensure_ascii=False, default=str)[:MAX_LINE]
    except (TypeError, ValueError, RecursionError):
        return "<record not serialisable>"
