"""What the event search page shows besides the events: the sidebar's links, the columns, the sort.

Pure functions of the parsed search and what the selectors found: every link is the search's own query
string with one change (a filter added, a column shown, a sort chosen), so the URL is the whole state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import QueryDict
from django.utils import timezone

from console.events import Event
from console.models import Sharing
from console.search import EventSearch, FieldFilter
from console.selectors import FieldSummary, Sidebar
from organisations.access import Action, Permissions
from organisations.selectors import AnyUser, visible_org_codes

# Shown when no columns are chosen: the summary columns the page always had.
DEFAULT_COLUMNS = ("organization.id", "host.name")


@dataclass
class ValueRow:
    value: str
    count: int
    percent: float
    filter_in: str
    filter_out: str


@dataclass
class FieldRow:
    summary: FieldSummary
    values: list[ValueRow]
    shown: bool  # a column of the table
    toggle_column: str
    opened: bool = False  # its values listed without a click


# Fields opened at first: those that tell events apart (more than one value), a few at most.
OPENED_FIELDS = 8


@dataclass
class Column:
    name: str
    sort_link: str
    sorted: str  # "asc", "desc" or ""
    remove_link: str


def sidebar_rows(search: EventSearch, sidebar: Sidebar, total: int) -> list[FieldRow]:
    rows = []
    for summary in sidebar.fields:
        values = [ValueRow(v.value, v.count, round(100 * v.count / total, 1) if total else 0.0,
                           _with_filter(search, summary.name, v.value, negate=False),
                           _with_filter(search, summary.name, v.value, negate=True)) for v in summary.values]
        shown = summary.name in search.columns
        columns = [c for c in search.columns if c != summary.name] if shown else [*search.columns, summary.name]
        rows.append(FieldRow(summary, values, shown, search.params(columns=columns).urlencode()))
    _open_telling_fields(rows, {f.field for f in search.filters})
    return rows


def _open_telling_fields(rows: list[FieldRow], filtered: set[str]) -> None:
    """Open the fields shown as columns or filtered on, and the first that have several values: a field with
    one value in every event (the dataset, the collector) says nothing about which events differ."""
    budget = OPENED_FIELDS
    for row in rows:
        row.opened = row.shown or row.summary.name in filtered
        if not row.opened and budget and len(row.values) > 1:
            row.opened, budget = True, budget - 1


def _with_filter(search: EventSearch, name: str, value: str, *, negate: bool) -> str:
    wanted = FieldFilter(field=name, value=value, negate=negate)
    kept = [f for f in search.filters if (f.field, f.value) != (name, value)]
    return search.params(filters=[*kept, wanted]).urlencode()


def column_headers(search: EventSearch) -> list[Column]:
    """The table's columns after the time: the chosen ones, else the defaults (which cannot be removed)."""
    chosen = bool(search.columns)
    names = search.columns or list(DEFAULT_COLUMNS)
    return [Column(name, _sort_link(search, name), _sorted(search, name),
                   search.params(columns=[c for c in names if c != name]).urlencode() if chosen else "")
            for name in names]


def time_sort(search: EventSearch) -> tuple[str, str]:
    """The time column's sort link and state (newest first when nothing else is chosen)."""
    state = _sorted(search, "@timestamp") or ("" if search.sort else "desc")
    order = "asc" if state == "desc" else "desc"
    return search.params(sort=("@timestamp", order)).urlencode(), state


def _sort_link(search: EventSearch, name: str) -> str:
    order = "desc" if search.sort == (name, "asc") else "asc"
    return search.params(sort=(name, order)).urlencode()


def _sorted(search: EventSearch, name: str) -> str:
    return search.sort[1] if search.sort and search.sort[0] == name else ""


def table_rows(search: EventSearch, events: list[Event]) -> list[tuple[Event, list[str]]]:
    names = search.columns or list(DEFAULT_COLUMNS)
    return [(event, [event.fields.get(name, "") for name in names]) for event in events]


def sharing_choices(user: AnyUser) -> list[tuple[str, Any]]:
    """Who a search may be shared with by this user: the centre shares nationally, a province with itself."""
    if not Permissions(user).can(Action.SAVE_FILTER):
        return []
    if visible_org_codes(user) is None:
        choices = [Sharing.PRIVATE, Sharing.NATIONAL] if Permissions(user).can_nationally(Action.SAVE_FILTER) \
            else [Sharing.PRIVATE]
    else:
        choices = [Sharing.PRIVATE, Sharing.PROVINCE]
    return [(choice.value, choice.label) for choice in choices]


def int_choice(raw: str, choices: tuple[int, ...], *, default: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value in choices else default


def context_search_link(event: Event, field_name: str, minutes: int) -> str:
    """The event search for the same context (to refine it there), as a query string."""
    out = QueryDict(mutable=True)
    value = event.fields.get(field_name, "")
    if not value or event.timestamp is None:
        return ""
    start, end = event.timestamp - timedelta(minutes=minutes), event.timestamp + timedelta(minutes=minutes + 1)
    out.update({"range": "custom", "start": timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
                "end": timezone.localtime(end).strftime("%Y-%m-%dT%H:%M"), "f": f"{field_name}:{value}",
                "sort": "@timestamp:asc"})
    return out.urlencode()

