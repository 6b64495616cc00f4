"""The one small interface every log source implements.

A source is a module with the same three things:

* ``name`` - the source's label (tests and metrics use it);
* a selector - ``programs`` (syslog idents it reads) and ``bare`` (whether its
  lines also come straight from a file without a syslog header), or
  ``matches(record)`` for JSON sources;
* a parse function - ``parse_message(message, doc, ctx) -> bool`` fills an
  ECS document the registry has already started, and returns False when the
  message is not of its kind; JSON sources offer ``parse_record(record, ctx)``.

Parsers never raise on hostile input and avoid nested quantifiers in their
regular expressions, so that every line costs linear time: the registry
still wraps them, but a slow regex cannot be caught after the fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

ECS_VERSION = "8.11.0"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"
# Longer lines are cut (and flagged) before parsing: no real log line is this
# long, and it bounds the time and memory one hostile line can cost.
MAX_LINE = 64 * 1024

Doc = dict[str, Any]


@dataclass(frozen=True)
class ParseContext:
    """What a parser knows besides the record itself."""

    host: str = ""
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    # Used to infer the year of RFC 3164 timestamps, which carry none.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


class TextSource(Protocol):
    """Shape of a module that parses text lines (see the module docstring)."""

    name: str
    programs: tuple[str, ...]
    bare: bool

    def parse_message(self, message: str, doc: Doc, ctx: ParseContext) -> bool: ...


class JsonSource(Protocol):
    """Shape of a module that parses one decoded JSON record."""

    name: str

    def matches(self, record: Mapping[str, Any]) -> bool: ...

    def parse_record(self, record: Mapping[str, Any], ctx: ParseContext) -> Doc: ...


_PATHS: dict[str, tuple[tuple[str, ...], str]] = {}  # "a.b.c" -> (("a", "b"), "c"): put runs ~20 times per event


def _path(dotted: str) -> tuple[tuple[str, ...], str]:
    found = _PATHS.get(dotted)
    if found is None:
        *parents, leaf = dotted.split(".")
        found = (tuple(parents), leaf)
        if len(_PATHS) < 4096:  # field names come from code and parsers; bounded anyway against odd input
            _PATHS[dotted] = found
    return found


def put(doc: Doc, dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested ECS document; empty values are skipped."""
    if value is None or value == "":
        return
    found = _PATHS.get(dotted)
    parents, leaf = found if found is not None else _path(dotted)
    node = doc
    for key in parents:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        elif type(child) is not dict:  # a scalar already sits there: keep it, drop the new value
            return
        node = child
    node[leaf] = value


def get(doc: Doc, dotted: str) -> Any:
    node: Any = doc
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


@lru_cache(maxsize=4096)  # per line, and log lines share their seconds
def isoformat_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_int(value: Any) -> int | None:
    """An int from a decimal string or number; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None


def put_event(doc: Doc, *, dataset: str, action: str = "", category: Iterable[str] = (),
              type: Iterable[str] = (), outcome: str = "", kind: str = "event") -> None:
    """The ``event.*`` block every parsed record carries; module = dataset's first part."""
    node = doc.get("event")
    if node is None:
        node = doc["event"] = {}
    elif not isinstance(node, dict):
        return
    for key, value in _event_fields(kind, dataset, action, tuple(category), tuple(type), outcome):
        node[key] = list(value) if isinstance(value, tuple) else value  # lists of its own: callers may add


@lru_cache(maxsize=1024)
def _event_fields(kind: str, dataset: str, action: str, category: tuple[str, ...], type: tuple[str, ...],
                  outcome: str) -> tuple[tuple[str, Any], ...]:
    """The non-empty ``event.*`` fields, in ``put`` order: worked out once per rule, not per line (hot path)."""
    fields = (("kind", kind), ("dataset", dataset), ("module", dataset.split(".", 1)[0]), ("action", action),
              ("category", category), ("type", type), ("outcome", outcome))
    return tuple((key, value) for key, value in fields if value)


# Named groups in rule patterns -> ECS fields, so every module spells a field one way.
_GROUP_FIELDS: dict[str, str] = {
    "user": "user.name",
    "uid": "user.id",
    "effective_user": "user.effective.name",
    "target_user": "user.target.name",
    "target_uid": "user.target.id",
    "group": "group.name",
    "gid": "group.id",
    "target_group": "user.target.group.name",
    "ip": "source.ip",
    "port": "source.port",
    "domain": "source.domain",
    "method": "system.auth.ssh.method",
    "count": "system.auth.repeated",
    "tty": "system.auth.tty",
    "command": "process.command_line",
}
_INT_FIELDS = frozenset({"source.port", "system.auth.repeated"})
_USER_FIELDS = frozenset({"user.name", "user.effective.name", "user.target.name"})


@dataclass(frozen=True)
class Rule:
    """One message shape: a pattern with named groups, and what the event means."""

    pattern: re.Pattern[str]
    action: str
    category: tuple[str, ...] = ("authentication",)
    type: tuple[str, ...] = ("info",)
    outcome: str = ""


def rule(regex: str, action: str, category: str | tuple[str, ...] = "authentication",
         type: str | tuple[str, ...] = "info", outcome: str = "") -> Rule:
    as_tuple = lambda v: (v,) if isinstance(v, str) else v  # noqa: E731
    return Rule(re.compile(regex), action, as_tuple(category), as_tuple(type), outcome)


def apply_rules(rules: Iterable[Rule], message: str, doc: Doc, dataset: str) -> re.Match[str] | None:
    """Fill ``doc`` from the first rule whose pattern matches the start of ``message``."""
    for r in rules:
        m = r.pattern.match(message)
        if m is None:
            continue
        put_event(doc, dataset=dataset, action=r.action, category=r.category, type=r.type,
                  outcome=r.outcome)
        put_groups(doc, m.groupdict())
        return m
    return None


def put_groups(doc: Doc, groups: Mapping[str, str | None]) -> None:
    for key, value in groups.items():
        target = _GROUP_FIELDS.get(key)
        if target is None or not value:
            continue
        put(doc, target, to_int(value) if target in _INT_FIELDS else value)
        if target in _USER_FIELDS:
            add_related(doc, "user", value)
        elif target == "source.ip":
            add_related(doc, "ip", value)


def add_related(doc: Doc, kind: str, value: str) -> None:
    """``related.user`` / ``related.ip`` / ``related.hash`` lists, without duplicates."""
    if not value:
        return
    values = doc.setdefault("related", {}).setdefault(kind, [])
    if value not in values:
        values.append(value)
