"""CSV export of the audit log, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from organisations.models import AuditLog

COLUMNS = ["created_at", "actor", "ip", "action", "object_type", "object", "organisation", "before", "after"]
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_rows(entries: Iterable[AuditLog]) -> Iterator[str]:
    """Streamed line by line, so an export of millions of rows holds no more than one in memory."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for entry in entries:
        yield writer.writerow([neutralise(cell) for cell in (
            entry.created_at.isoformat(), entry.actor_name, entry.ip, entry.action, entry.object_type,
            entry.object_ref, entry.organisation.code, json.dumps(entry.before, ensure_ascii=False),
            json.dumps(entry.after, ensure_ascii=False),
        )])
