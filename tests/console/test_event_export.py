"""CSV export: scoped, formula cells neutralised, stopped at the row limit."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from console.export import neutralise
from tests.conftest import Cast
from tests.console.conftest import Indexer

URL = "/console/events/export.csv"


def export(user: object, **params: str) -> list[list[str]]:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    response = client.get(URL, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body)))


def test_an_export_holds_only_the_users_province(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 3, message="canary-hni-7f3a")
    index_events("HCM", 3, message="canary-hcm-91bc")
    rows = export(cast.hni_responder)
    text = repr(rows)
    assert "canary-hni-7f3a" in text and "canary-hcm-91bc" not in text
    assert len(rows) == 1 + 3
    assert "canary-hcm-91bc" not in repr(export(cast.hni_responder, q="organization.id:HCM"))


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value: str) -> None:
    assert neutralise(value) == "'" + value


def test_plain_cells_are_left_alone() -> None:
    assert neutralise("Failed password for root") == "Failed password for root"


def test_an_exported_formula_from_a_log_line_opens_as_text(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="=cmd|' /C calc'!A0")
    [_header, row] = export(cast.hni_responder)
    assert row[-1].startswith("'=cmd")


def test_an_export_stops_at_the_row_limit_and_says_so(cast: Cast, index_events: Indexer, settings: object) -> None:
    settings.SOC_EXPORT_MAX_ROWS = 5  # type: ignore[attr-defined]
    index_events("HNI", 8)
    rows = export(cast.hni_responder)
    assert len(rows) == 1 + 5 + 1
    assert "limit of 5 rows" in rows[-1][0]


def test_an_export_with_a_bad_filter_is_refused(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.hni_responder)
    assert client.get(URL, {"f": "bad"}).status_code == 400


def test_an_export_has_the_columns_and_order_the_search_page_shows(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 2, message="b", user={"name": "zed"})
    index_events("HNI", 1, message="a", user={"name": "amy"}, source={"ip": "203.0.113.5"})
    rows = export(cast.hni_responder, cols="user.name,source.ip", sort="user.name:asc")
    assert rows[0] == ["@timestamp", "user.name", "source.ip", "message"]
    assert [row[1:] for row in rows[1:]] == [["amy", "203.0.113.5", "a 0"], ["zed", "", "b 0"], ["zed", "", "b 1"]]
