"""The published summary is for public announcement: anyone reads it, and nothing else, unless switched off."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from readiness.models import PublishedPeriod, ReadinessSnapshot
from tests.conftest import Cast
from tests.readiness.test_publication import cards, publish  # noqa: F401  (the fixture is used by name)

pytestmark = pytest.mark.django_db
PERIOD = "/readiness/public/2026-11-19/2026-11-20/"
PUBLIC = ["/readiness/public/", PERIOD, f"{PERIOD}report.csv", f"{PERIOD}report.pdf",
          "/api/v1/readiness/public/?start=2026-11-19&end=2026-11-20"]


@pytest.fixture
def published(client: Client, cast: Cast, cards: None) -> None:  # noqa: F811
    client.force_login(cast.lead)
    assert publish(client) == 201
    client.logout()


@pytest.mark.parametrize("path", PUBLIC)
def test_anyone_reads_a_published_period_without_signing_in(client: Client, published: None, path: str) -> None:
    response = client.get(path)
    body = response.content

    assert response.status_code == 200
    assert b"HCM-SECRET-HOST" not in body and b"collector" not in body.lower()
    if path.endswith("/"):
        assert b"HNI" in body and b"nav-notifications" not in body and b"incidents/" not in body


def test_the_api_answers_scores_and_levels_only(client: Client, published: None) -> None:
    body: dict[str, Any] = client.get("/api/v1/readiness/public/").json()

    assert set(body["results"][0]) <= {"rank", "code", "name", "score", "level", "days"}
    assert body["results"][0]["code"] == "HNI"


@pytest.mark.parametrize("path", [p.replace("2026-11-19/2026-11-20", "2026-11-01/2026-11-02") for p in PUBLIC[1:4]]
                         + ["/api/v1/readiness/public/?start=2026-11-01&end=2026-11-02"])
def test_an_unpublished_period_stays_hidden_from_anonymous_callers(client: Client, published: None,
                                                                    path: str) -> None:
    assert client.get(path).status_code == 404


def test_nothing_but_reading_is_open(client: Client, published: None) -> None:
    assert client.post(PERIOD).status_code == 405
    assert client.post("/api/v1/readiness/public/", {}).status_code in (401, 403)
    assert client.post("/api/v1/readiness/publications/", {"start": "2026-11-19", "end": "2026-11-19"},
                       content_type="application/json").status_code in (401, 403)
    assert client.get("/readiness/").status_code == 302
    assert PublishedPeriod.objects.count() == 1


def test_the_operator_can_keep_the_summary_behind_the_login(client: Client, cast: Cast, published: None,
                                                           settings: Any) -> None:
    settings.READINESS_PUBLIC_SUMMARY = False

    assert client.get(PERIOD).status_code == 302
    assert client.get(f"{PERIOD}report.csv").status_code == 302
    assert client.get("/api/v1/readiness/public/").status_code in (401, 403)
    client.force_login(cast.hcm_responder)
    assert client.get(PERIOD).status_code == 200


@pytest.mark.parametrize("export", ["report.pdf", "report.csv"])
def test_the_exports_are_built_once_per_publication(client: Client, published: None, export: str) -> None:
    first = client.get(f"{PERIOD}{export}").content
    ReadinessSnapshot.objects.filter(province__code="HNI").delete()  # a rebuild would now differ

    assert client.get(f"{PERIOD}{export}").content == first
