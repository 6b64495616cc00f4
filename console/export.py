"""CSV export of events: streamed, row-limited, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from console.events import Event

COLUMNS = ("@timestamp", "organization.id", "host.name", "event.dataset", "event.action", "event.outcome",
           "source.ip", "user.name", "message")
# A cell starting with one of these is a formula to Excel/LibreOffice (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Line:
    """csv.writer needs a file; this one hands back what was written."""

    def write(self, text: str) -> str:
        return text


def csv_lines(events: Iterable[Event], *, limit: int) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    count = 0
    for event in events:
        count += 1
        yield writer.writerow([neutralise(event.fields.get(column, "")) for column in COLUMNS])
    if count >= limit:
        yield writer.writerow([f"# export stopped at the limit of {limit} rows; narrow the search for the rest"])
