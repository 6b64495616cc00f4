"""CSV export of the audit log, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from organisations.models import AuditLog
from organisations.selectors import AnyUser, audit_list

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


def audit_csv_response(*, user: AnyUser) -> StreamingHttpResponse:
    """The whole audit log in ``user``'s scope as a CSV download (console and API alike); the caller has
    checked ``Action.AUDIT_VIEW``."""
    entries = audit_list(user=user).select_related("organisation").order_by("created_at", "id")
    response = StreamingHttpResponse(audit_csv_rows(entries.iterator(chunk_size=2000)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
