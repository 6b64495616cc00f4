"""CSV export of events: streamed, row-limited, safe to open in a spreadsheet, one at a time per user; in the
columns and the order the search page shows."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.cache import cache

from console.events import Event
from console.search import EventSearch, SearchError
from console.selectors import event_iter
from organisations.selectors import AnyUser

COLUMNS = ("@timestamp", "organization.id", "host.name", "event.dataset", "event.action", "event.outcome",
           "source.ip", "user.name", "message")
# A cell starting with one of these is a formula to Excel/LibreOffice (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The export's lock is renewed every this many lines (about one Elasticsearch page).
RENEW_EVERY = 1000


def neutralise(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Line:
    """csv.writer needs a file; this one hands back what was written."""

    def write(self, text: str) -> str:
        return text


def export_columns(search: EventSearch) -> tuple[str, ...]:
    """The columns the analyst chose on the search page (after the time, with the message last), else COLUMNS."""
    if not search.columns:
        return COLUMNS
    return tuple(dict.fromkeys(["@timestamp", *search.columns, "message"]))


def csv_lines(events: Iterable[Event], *, limit: int, columns: tuple[str, ...] = COLUMNS) -> Iterator[str]:
    """The CSV file's lines; closes ``events`` (if it can be closed) when done or closed itself."""
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    count = 0
    try:
        for event in events:
            count += 1
            yield writer.writerow([neutralise(event.fields.get(column, "")) for column in columns])
    except SearchError as exc:  # the response has started: the file itself must say it is incomplete
        yield writer.writerow([f"# export stopped after {count} rows: {exc}"])
        return
    finally:
        # Now, not when garbage-collected: closing the events closes their point in time.
        close = getattr(events, "close", None)
        if close is not None:
            close()
    if count >= limit:
        yield writer.writerow([f"# export stopped at the limit of {limit} rows; narrow the search for the rest"])


def _lock_key(user: AnyUser) -> str:
    return f"console:export:{user.pk}"


def export_lock_acquire(*, user: AnyUser) -> str | None:
    """The user's export lock (a token to release it with), or None while another export of theirs runs.

    ``cache.add`` is Redis ``SET NX``: of two exports starting at once, one gets the lock.
    """
    token = secrets.token_hex(8)
    return token if cache.add(_lock_key(user), token, settings.SOC_EXPORT_LOCK_SECONDS) else None


def export_lock_renew(*, user: AnyUser) -> None:
    cache.touch(_lock_key(user), settings.SOC_EXPORT_LOCK_SECONDS)


def export_lock_release(*, user: AnyUser, token: str) -> None:
    # Only our own lock: after an expiry another export may hold it. (Read-then-delete is not atomic; the window
    # is one round trip after an expiry, and the worst outcome is a second export running at once.)
    if cache.get(_lock_key(user)) == token:
        cache.delete(_lock_key(user))


class LockedExport(Iterator[str]):
    """The lines of one user's export, holding their export lock until exhausted or closed.

    A class rather than a generator: Django closes a streaming response's content when the response is closed,
    even when it was never read, and a generator that never started would not run its ``finally``.
    """

    def __init__(self, *, user: AnyUser, token: str, lines: Iterator[str]) -> None:
        self._user, self._token, self._lines = user, token, lines
        self._sent, self._closed = 0, False

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except BaseException:
            self.close()
            raise
        self._sent += 1
        if self._sent % RENEW_EVERY == 0:
            export_lock_renew(user=self._user)
        return line

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._lines, "close", None)
            if close is not None:
                close()  # runs the line generators' finally: the point in time is closed
        finally:
            export_lock_release(user=self._user, token=self._token)


def events_csv_start(*, user: AnyUser, search: EventSearch, limit: int) -> LockedExport | None:
    """The CSV lines of ``search`` as ``user`` sees it, or None while another export of theirs is running."""
    token = export_lock_acquire(user=user)
    if token is None:
        return None
    lines = csv_lines(event_iter(user=user, search=search, limit=limit), limit=limit, columns=export_columns(search))
    return LockedExport(user=user, token=token, lines=lines)
