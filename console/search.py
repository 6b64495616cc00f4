"""Parsing an event search from the query string into an Elasticsearch query.

Everything here is pure: it builds the query that ``soc.es.scoped_search``
then limits to the user's provinces. Bad input raises ``SearchError`` with a
message the console shows as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

RANGES: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_RANGE = "24h"
# Histogram steps, smallest first; the first that keeps the chart under MAX_BUCKETS wins.
INTERVALS: list[tuple[str, timedelta]] = [
    ("1m", timedelta(minutes=1)), ("5m", timedelta(minutes=5)), ("15m", timedelta(minutes=15)),
    ("30m", timedelta(minutes=30)), ("1h", timedelta(hours=1)), ("3h", timedelta(hours=3)),
    ("12h", timedelta(hours=12)), ("1d", timedelta(days=1)), ("7d", timedelta(days=7)),
]
MAX_BUCKETS = 120
# Words without a field name are looked up here, not in every field: a hostile source can add
# up to the mapping's field limit, and "all fields" would then exceed Elasticsearch's expansion limit.
DEFAULT_FIELDS = ["message", "event.original", "user.name", "host.name", "source.ip", "destination.ip",
                  "process.name", "process.command_line", "url.original", "file.path", "dns.question.name",
                  "rule.name", "event.action"]
MAX_QUERY_CHARS = 2000
# Lucene syntax that ends a term (and so may be followed by the start of another).
TERM_BREAKS = frozenset(" \t\r\n\u3000()[]{}:^~\"")
# Operators written before a term: "-*foo" still starts a term with a wildcard.
PREFIX_OPERATORS = frozenset("+-!")
MAX_FILTERS = 20
FIELD_NAME = re.compile(r"^[A-Za-z0-9_@][A-Za-z0-9_.@\-]{0,199}$")
# Columns of the result table besides the time; none chosen shows the default summary columns.
MAX_COLUMNS = 12
SORT_ORDERS = ("asc", "desc")


class SearchError(ValueError):
    """The search cannot run as asked; the message is for the user."""


@dataclass(frozen=True)
class FieldFilter:
    field: str
    value: str
    negate: bool = False

    @property
    def token(self) -> str:
        return f"{self.field}:{self.value}"


@dataclass
class EventSearch:
    query: str = ""
    range_key: str = DEFAULT_RANGE
    start: datetime = field(default_factory=timezone.now)
    end: datetime = field(default_factory=timezone.now)
    filters: list[FieldFilter] = field(default_factory=list)
    pit_id: str | None = None
    after: list[Any] | None = None
    columns: list[str] = field(default_factory=list)
    # (field, "asc"|"desc"); None is newest first.
    sort: tuple[str, str] | None = None

    def es_sort(self) -> list[dict[str, Any]]:
        """The sort of the result pages; ties broken by time, then by the point in time's own order."""
        newest: list[dict[str, Any]] = [{"@timestamp": {"order": "desc", "unmapped_type": "date"}},
                                        {"_shard_doc": "desc"}]
        if self.sort is None:
            return newest
        name, order = self.sort
        if name == "@timestamp":
            return [{"@timestamp": {"order": order, "unmapped_type": "date"}}, {"_shard_doc": order}]
        return [{name: {"order": order, "unmapped_type": "keyword", "missing": "_last"}}, *newest]

    def es_query(self) -> dict[str, Any]:
        must: list[dict[str, Any]] = [
            {"range": {"@timestamp": {"gte": self.start.isoformat(), "lte": self.end.isoformat()}}}]
        if self.query:
            must.append({"query_string": {
                "query": self.query, "default_operator": "AND", "lenient": True, "fields": DEFAULT_FIELDS,
                "allow_leading_wildcard": False, "analyze_wildcard": True}})
        must += [{"term": {f.field: f.value}} for f in self.filters if not f.negate]
        must_not = [{"term": {f.field: f.value}} for f in self.filters if f.negate]
        return {"bool": {"filter": must, "must_not": must_not}}

    def interval(self) -> str:
        span = self.end - self.start
        for name, step in INTERVALS:
            if span / step <= MAX_BUCKETS:
                return name
        return INTERVALS[-1][0]

    def params(self, **changes: Any) -> QueryDict:
        """The query string that reproduces this search (without paging), with ``changes``."""
        out = QueryDict(mutable=True)
        out["q"] = changes.get("q", self.query)
        out["range"] = self.range_key
        if self.range_key == "custom":
            out["start"] = timezone.localtime(self.start).strftime("%Y-%m-%dT%H:%M")
            out["end"] = timezone.localtime(self.end).strftime("%Y-%m-%dT%H:%M")
        for f in changes.get("filters", self.filters):
            out.appendlist("nf" if f.negate else "f", f.token)
        columns = changes.get("columns", self.columns)
        if columns:
            out["cols"] = ",".join(columns)
        sort = changes.get("sort", self.sort)
        if sort:
            out["sort"] = f"{sort[0]}:{sort[1]}"
        return out

    def describe(self) -> str:
        """One line saying what this search asks, for comments and audit entries."""
        parts = [self.query or "*"]
        parts += [f"{'NOT ' if f.negate else ''}{f.field} = {f.value}" for f in self.filters]
        return " · ".join(parts)


def parse_search(data: QueryDict, *, now: datetime | None = None) -> EventSearch:
    now = now or timezone.now()
    query = data.get("q", "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(_("The query is longer than %(n)d characters.") % {"n": MAX_QUERY_CHARS})
    query_check_cost(query)
    range_key = data.get("range", DEFAULT_RANGE)
    start, end = _time_range(range_key, data, now)
    filters = [_filter(raw, False) for raw in data.getlist("f")] + [_filter(raw, True) for raw in data.getlist("nf")]
    if len(filters) > MAX_FILTERS:
        raise SearchError(_("At most %(n)d field filters.") % {"n": MAX_FILTERS})
    return EventSearch(query=query, range_key=range_key, start=start, end=end, filters=filters,
                       pit_id=data.get("pit") or None, after=_after(data.get("after", "")),
                       columns=_columns(data.get("cols", "")), sort=_sort(data.get("sort", "")))


def _columns(raw: str) -> list[str]:
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    if len(names) > MAX_COLUMNS or not all(FIELD_NAME.match(name) for name in names):
        raise SearchError(_("Choose at most %(n)d columns, each a field name.") % {"n": MAX_COLUMNS})
    return names


def _sort(raw: str) -> tuple[str, str] | None:
    if not raw:
        return None
    name, _sep, order = raw.rpartition(":")
    if not FIELD_NAME.match(name) or order not in SORT_ORDERS:
        raise SearchError(_("Sort by a field name followed by :asc or :desc."))
    return name, order


def query_check_cost(query: str) -> None:
    """Refuse what makes Elasticsearch walk every term of a field: regular expressions and leading wildcards.

    Elasticsearch has no switch to turn regular expressions off in ``query_string``, so the query is read here
    with Lucene's own lexical rules: a ``/`` outside quotes and not escaped starts a regular expression (or is a
    syntax error), and a term starting with ``*`` or ``?`` is a leading wildcard (``*`` alone and ``*:*`` match
    everything cheaply and are allowed). Quoted phrases and backslash escapes are skipped as Lucene skips them.
    """
    at_term_start, i = True, 0
    while i < len(query):
        char = query[i]
        if char == "\\":
            at_term_start, i = False, i + 2
        elif char == '"':
            at_term_start, i = False, _phrase_end(query, i)
        elif char == "/":
            raise SearchError(_("Regular expressions (/…/) are not allowed in event search. To search for a "
                                "slash, put the value in quotes (\"/etc/passwd\") or escape it with a backslash."))
        elif char in "*?" and at_term_start and not _cheap_wildcard(query, i):
            raise SearchError(_("A leading wildcard (*foo, ?foo) would read every value of a field and is not "
                                "allowed; start the term with at least one character (foo*)."))
        else:
            at_term_start = char in TERM_BREAKS or (at_term_start and char in PREFIX_OPERATORS)
            i += 1


def _phrase_end(query: str, start: int) -> int:
    """The index after the quote closing the phrase opened at ``start`` (the end of an unclosed one)."""
    i = start + 1
    while i < len(query) and query[i] != '"':
        i += 2 if query[i] == "\\" else 1
    return i + 1


def _cheap_wildcard(query: str, i: int) -> bool:
    """``*`` standing alone (any value) or ``*:*`` (every event); ``*:foo`` would search every field."""
    rest = query[i + 1:]
    if query[i] == "*" and rest.startswith(":*") and (len(rest) == 2 or rest[2] in TERM_BREAKS):
        return True
    return query[i] == "*" and (not rest or (rest[0] in TERM_BREAKS and rest[0] != ":"))


def _time_range(range_key: str, data: QueryDict, now: datetime) -> tuple[datetime, datetime]:
    if range_key in RANGES:
        return now - RANGES[range_key], now
    if range_key != "custom":
        raise SearchError(_("Unknown time range."))
    start, end = _local_datetime(data.get("start", "")), _local_datetime(data.get("end", ""))
    if start >= end:
        raise SearchError(_("The start of the time range must be before its end."))
    return start, end


def _local_datetime(raw: str) -> datetime:
    """A datetime-local field ("2026-11-28T09:30"), read in the user's time zone."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise SearchError(_("Dates must look like 2026-11-28T09:30.")) from exc
    return moment if moment.tzinfo else timezone.make_aware(moment)


def _filter(raw: str, negate: bool) -> FieldFilter:
    name, sep, value = raw.partition(":")
    if not sep or not FIELD_NAME.match(name) or len(value) > 2048:
        raise SearchError(_("A field filter must look like field.name:value."))
    return FieldFilter(field=name, value=value, negate=negate)


def _after(raw: str) -> list[Any] | None:
    if not raw:
        return None
    try:
        after = json.loads(raw)
    except ValueError as exc:
        raise SearchError(_("The page cursor is damaged; search again.")) from exc
    # A field sort puts null in the cursor for events without that field.
    if not isinstance(after, list) or not all(v is None or isinstance(v, int | str | float) for v in after) \
            or len(after) > 4:
        raise SearchError(_("The page cursor is damaged; search again."))
    return after


# --- a search as a detection rule's query ------------------------------------------------------------

OPERATORS = frozenset({"AND", "OR", "NOT", "&&", "||", "!"})
# Tokens that end an operand, and tokens that start one: between the two, event search reads AND.
_OPEN, _CLOSE = "(", ")"


def rule_lucene(search: EventSearch) -> str:
    """The search as one Lucene query a rule runs with its own defaults (``query_string``, OR between terms).

    Event search reads ``a b`` as ``a AND b``; a rule would read it as ``a OR b``. So every place where the
    search leaves the operator out gets an explicit AND, and the field filters are added as quoted terms.
    """
    parts = [f"({explicit_and(search.query)})"] if search.query and search.query != "*" else []
    for f in search.filters:
        parts.append(f"{'NOT ' if f.negate else ''}{f.field}:{lucene_quote(f.value)}")
    return " AND ".join(parts) or "*"


def lucene_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def explicit_and(query: str) -> str:
    """``query`` with AND written wherever event search would apply its default operator.

    Lucene reads a group that mixes OR with a left-out operator differently under the two defaults
    (``a OR b c``), so such a group is refused rather than turned into a rule that matches something else.
    """
    out, position, previous = [], 0, ""
    or_in_group, gap_in_group = [False], [False]
    for start, text in _lucene_tokens(query):
        out.append(query[position:start])
        if _ends_operand(previous) and _starts_operand(text):
            out.append("AND " if query[position:start] else " AND ")
            gap_in_group[-1] = True
        if text == _OPEN:
            or_in_group.append(False)
            gap_in_group.append(False)
        elif text == _CLOSE and len(or_in_group) > 1:
            _check_group(or_in_group.pop(), gap_in_group.pop())
        or_in_group[-1] |= text in ("OR", "||")
        out.append(text)
        position, previous = start + len(text), text
    _check_group(or_in_group[-1], gap_in_group[-1])
    return "".join(out).strip()


def _ends_operand(token: str) -> bool:
    return bool(token) and token not in OPERATORS and token != _OPEN and not token.endswith(":")


def _starts_operand(token: str) -> bool:
    return token not in OPERATORS - {"NOT", "!"} and token != _CLOSE


def _check_group(has_or: bool, has_gap: bool) -> None:
    if has_or and has_gap:
        raise SearchError(_("This query mixes OR with terms written side by side (a OR b c); a rule would read it "
                            "differently. Put the OR in parentheses, e.g. (a OR b) c, then make the rule."))


def _lucene_tokens(query: str) -> list[tuple[int, str]]:
    """(position, text) of each token: a parenthesis, an operator, or a term with its field, prefix, quoted
    phrases, ranges and escapes kept whole. Whitespace only separates."""
    tokens: list[tuple[int, str]] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append((i, char))
            i += 1
        else:
            end = _term_end(query, i)
            tokens.append((i, query[i:end]))
            i = end
    return tokens


def _term_end(query: str, i: int) -> int:
    """The index after the term starting at ``i``; a term ending in ``:`` stops before its group ``(``."""
    closers = {"[": "]", "{": "}"}
    while i < len(query) and not query[i].isspace() and query[i] not in "()":
        char = query[i]
        if char == "\\":
            i += 2
        elif char == '"':
            i = _phrase_end(query, i)
        elif char in closers:
            close = query.find(closers[char], i)
            alt = query.find("]" if char == "{" else "}", i)
            ends = [e for e in (close, alt) if e >= 0]
            i = (min(ends) + 1) if ends else len(query)
        else:
            i += 1
    return i
