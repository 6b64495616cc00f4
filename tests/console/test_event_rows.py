"""The event search's rows built in Python (console/templatetags/event_rows.py) are the markup the template's
loop made, hostile log content included, in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone, translation

from console.events import Event, flatten
from console.selectors import CONTEXT_FIELDS

# The loop events.html had before the tag, verbatim (and EMPTY for its {% empty %} branch).
OLD_LOOP = (Path(__file__).parent / "event_rows_before.html").read_text().rstrip("\n")
NEW = "{% load event_rows %}{% if rows %}{% event_rows rows base_query context_fields %}{% else %}EMPTY{% endif %}"

HOSTILE = "<script>alert(\"x\")</script> & 'quotes' %3A ?a=b&c=d # ü"


def _events() -> list[Event]:
    hostile = flatten(
        {
            "message": HOSTILE,
            "host": {"name": "web-01"},
            "source": {"ip": "10.0.0.1"},
            "user": {"name": [HOSTILE, "root"]},
            "labels": {"ok": True},
        }
    )
    plain = flatten({"event": {"action": "ssh_login", "outcome": "failure"}})
    return [
        Event(
            id="abc:1/<x>&y",
            index="events-2026.12.05",
            timestamp=datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC),
            fields=hostile,
        ),
        Event(id="plain", index="events-2026.12.05", timestamp=None, fields=plain),
    ]


def _render(source: str, rows: object) -> str:
    request = RequestFactory().get("/console/events/")
    context = {"rows": rows, "base_query": 'q=a%3A"b"&range=24h&f=x%3A<y>', "context_fields": CONTEXT_FIELDS}
    return engines["django"].from_string(source).render(context, request)


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("columns", [[], ["host.name", "message"]])
def test_the_event_rows_are_the_markup_the_template_loop_made(language: str, columns: list[str]) -> None:
    rows = [(event, [event.fields.get(name, "") for name in columns]) for event in _events()]
    with translation.override(language), timezone.override("Asia/Ho_Chi_Minh"):
        old, new = _render(OLD_LOOP, rows), _render(NEW, rows)
    assert _csrf_free(new) == _csrf_free(old)
    assert "<script>" not in new and "&lt;script&gt;" in new
    assert new.count('name="csrfmiddlewaretoken"') == 2


def test_no_rows_is_the_empty_branch() -> None:
    assert _render(NEW, []) == _render(OLD_LOOP, []) == "EMPTY"


def _csrf_free(html: str) -> str:
    """Each render masks the CSRF token afresh (a new random mask each time): compare the rest."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
