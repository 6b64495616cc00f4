"""The public summary exported as CSV and as a printable PDF: ranks, scores and levels only."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.test import Client

from organisations.models import Organisation
from readiness.exports import csv_cell
from readiness.models import PublishedPeriod
from tests.conftest import Cast
from tests.readiness.factories import snapshot

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)
BASE = "/readiness/public/2026-11-20/2026-11-20/"


@pytest.fixture
def published(cast: Cast) -> None:
    snapshot(cast.hni, DAY, 92.5, "ready", collector_name="hni-secret-host")
    snapshot(cast.hcm, DAY, 41.0, "not_ready")
    Organisation.objects.filter(code="HCM").update(name="=HYPERLINK(\"http://evil\")")
    PublishedPeriod.objects.create(start=DAY, end=DAY, published_by=cast.lead)


def test_the_csv_lists_rank_province_score_level_and_days(client: Client, cast: Cast, published: None) -> None:
    client.force_login(cast.auditor)
    response = client.get(BASE + "report.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="readiness-2026-11-20-2026-11-20.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["rank", "province_code", "province_name", "score", "level", "days"],
                    ["1", "HNI", "Hà Nội", "92.5", "ready", "1"],
                    ["2", "HCM", "'=HYPERLINK(\"http://evil\")", "41.0", "not_ready", "1"]]


@pytest.mark.parametrize(("value", "safe"), [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"),
                                             ("Hà Nội", "Hà Nội"), (92.5, "92.5")])
def test_csv_cells_never_start_a_formula(value: object, safe: str) -> None:
    assert csv_cell(value) == safe


def test_the_pdf_is_a_printable_report_with_a_chart_and_no_detail(client: Client, cast: Cast,
                                                                  published: None) -> None:
    client.force_login(cast.lead)
    response = client.get(BASE + "report.pdf")
    body = response.content

    assert response["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    assert b"Province readiness 2026-11-20 - 2026-11-20" in body
    assert body.count(b"/Type /Page\n") + body.count(b"/Type /Page ") >= 1
    assert b"hni-secret-host" not in body
