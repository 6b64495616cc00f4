"""The national ranking page and API: sortable columns, weekly change; the scorecard's trends."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from organisations.models import Organisation
from tests.conftest import Cast
from tests.readiness.factories import snapshot

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)
DIMS = ["connected", "correct", "sufficient", "clean", "live", "response"]


@pytest.fixture
def cards(cast: Cast) -> None:
    dng = Organisation.objects.get(code="DNG")
    snapshot(cast.hni, DAY, 90.0, "ready", dimensions=dict(zip(DIMS, [60.0, 100, 100, 100, 100, 100], strict=True)))
    snapshot(cast.hcm, DAY, 50.0, "not_ready", dimensions=dict(zip(DIMS, [90.0, 10, 40, 50, 60, 50], strict=True)))
    snapshot(dng, DAY, 70.0, dimensions=dict(zip(DIMS, [75.0, 60, 70, 80, 60, None], strict=True)))
    # HNI averaged 70 the week before and 90 this week: +20.
    for n in range(1, 14):
        snapshot(cast.hni, DAY - timedelta(days=n), 90.0 if n < 7 else 70.0, "ready")


def order(body: str) -> list[str]:
    return re.findall(r'<tr data-code="(\w+)">', body)


@pytest.mark.parametrize(("sort", "expected"), [
    ("rank", ["HNI", "DNG", "HCM"]), ("-score", ["HNI", "DNG", "HCM"]), ("score", ["HCM", "DNG", "HNI"]),
    ("connected", ["HNI", "DNG", "HCM"]), ("-connected", ["HCM", "DNG", "HNI"]), ("code", ["DNG", "HCM", "HNI"]),
    ("-response", ["HNI", "HCM", "DNG"]), ("not-a-column", ["HNI", "DNG", "HCM"]),
])
def test_the_ranking_sorts_by_the_column_in_the_query(client: Client, cast: Cast, cards: None, sort: str,
                                                      expected: list[str]) -> None:
    client.force_login(cast.analyst)

    assert order(client.get(f"/readiness/?day=2026-11-20&sort={sort}").content.decode()) == expected
    api = client.get(f"/api/v1/readiness/ranking/?day=2026-11-20&sort={sort}").json()
    assert [r["code"] for r in api["results"]] == expected


def test_the_ranking_shows_the_weekly_change_and_defaults_to_the_latest_day(client: Client, cast: Cast,
                                                                           cards: None) -> None:
    client.force_login(cast.analyst)
    results = {r["code"]: r for r in client.get("/api/v1/readiness/ranking/").json()["results"]}

    assert results["HNI"]["week_change"] == 20.0
    assert results["HCM"]["week_change"] is None
    assert results["HNI"]["month_change"] is None  # no history before 7 Nov
    assert set(results["HNI"]) == {"rank", "code", "name", "score", "level", "dimensions", "week_change",
                                   "month_change"}
    hni = client.get("/api/v1/readiness/scorecards/HNI/?day=2026-11-20").json()
    assert [w["score"] for w in hni["trends"]["week"]] == [70.0, 75.7, 90.0]  # weeks from Mon 2, 9 and 16 Nov


def test_a_malformed_day_is_404_not_an_error(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.analyst)

    assert client.get("/readiness/?day=2026-13-45").status_code == 404
    assert client.get("/api/v1/readiness/ranking/?day=yesterday").status_code == 404
    assert client.get("/readiness/HNI/?day=<script>").status_code == 404


def test_the_scorecard_draws_weekly_and_monthly_trends(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.hni_responder)
    body = client.get("/readiness/HNI/?day=2026-11-20").content.decode()

    weekly, monthly = body.split('aria-label="monthly"')
    # 14 days from Sat 7 Nov to Fri 20 Nov 2026 touch three ISO weeks and one month.
    assert weekly.count("<rect ") == 3
    assert monthly.count("<rect ") == 1
    assert 'style="' not in body and "<script>" not in body


def test_a_day_without_scorecards_says_so(client: Client, cast: Cast) -> None:
    client.force_login(cast.analyst)

    body = client.get("/readiness/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "No scorecards computed for this day." in body and "<tr data-code=" not in body
    assert client.get("/api/v1/readiness/ranking/").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/readiness/ranking/?day=2026-11-20", "/readiness/?day=2026-11-20",
                                  "/api/v1/readiness/scorecards/HNI/?day=2026-11-20"])
def test_the_pages_use_a_constant_number_of_queries_for_all_34_provinces(
        client: Client, cast: Cast, cards: None, path: str, django_assert_max_num_queries: Any) -> None:
    for org in Organisation.objects.provinces().exclude(code__in=["HNI", "HCM", "DNG"]):
        snapshot(org, DAY, 10.0, "not_ready")
    client.force_login(cast.lead)

    with django_assert_max_num_queries(15):
        assert client.get(path).status_code == 200


def test_the_ranking_shows_the_thirty_day_change(client: Client, cast: Cast, cards: None) -> None:
    for n in range(1, 60):
        snapshot(cast.hcm, DAY - timedelta(days=n), 50.0 if n < 30 else 40.0, "not_ready")
    client.force_login(cast.hcm_responder)
    results = {r["code"]: r for r in client.get("/api/v1/readiness/ranking/?sort=-month_change").json()["results"]}

    assert results["HCM"]["month_change"] == 10.0
    assert next(iter(results)) == "HCM"
