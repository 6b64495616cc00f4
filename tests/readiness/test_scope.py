"""Who sees what: the ranking (scores and levels) is national; a scorecard only for its own province."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from organisations.models import Organisation
from readiness.models import PublishedPeriod
from tests.conftest import Cast
from tests.readiness.factories import HOSTILE, snapshot

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)


@pytest.fixture
def cards(cast: Cast) -> None:
    snapshot(cast.hni, DAY, 91.0, "ready", collector_name="canary-HNI-collector")
    snapshot(cast.hcm, DAY, 55.0, "not_ready", collector_name="canary-HCM-collector")
    snapshot(Organisation.objects.get(code="DNG"), DAY, 70.0, collector_name=HOSTILE)


def users(cast: Cast) -> dict[str, User]:
    return {"lead": cast.lead, "analyst": cast.analyst, "auditor": cast.auditor,
            "hni_responder": cast.hni_responder, "hcm_responder": cast.hcm_responder}


@pytest.mark.parametrize("role", ["lead", "analyst", "auditor", "hni_responder", "hcm_responder"])
@pytest.mark.parametrize("path", ["/readiness/?day=2026-11-20", "/api/v1/readiness/ranking/?day=2026-11-20"])
def test_every_role_sees_the_national_ranking_without_any_collector_name(
        client: Client, cast: Cast, cards: None, role: str, path: str) -> None:
    client.force_login(users(cast)[role])
    body = client.get(path).content.decode()

    assert "HNI" in body and "HCM" in body and "DNG" in body
    own_scripts = re.sub(r'<script src="/static/[^"]+"( defer)?></script>', "", body.lower())
    assert "canary" not in body and "script" not in own_scripts


@pytest.mark.parametrize("path", ["/readiness/HCM/?day=2026-11-20", "/api/v1/readiness/scorecards/HCM/?day=2026-11-20",
                                  "/readiness/HCM/", "/api/v1/readiness/scorecards/HCM/"])
def test_another_provinces_scorecard_is_404_like_a_missing_one(
        client: Client, cast: Cast, cards: None, path: str) -> None:
    client.force_login(cast.hni_responder)

    assert client.get(path).status_code == 404
    assert client.get(path.replace("HCM", "XXX")).status_code == 404


@pytest.mark.parametrize("path", ["/readiness/HNI/?day=2026-11-20", "/api/v1/readiness/scorecards/HNI/"])
def test_a_province_sees_its_own_scorecard_with_its_actions(client: Client, cast: Cast, cards: None,
                                                            path: str) -> None:
    client.force_login(cast.hni_responder)
    response = client.get(path)

    assert response.status_code == 200
    assert "collector canary-HNI-collector offline for 2 days" in response.content.decode()


def test_the_ranking_links_a_province_user_only_to_its_own_scorecard(client: Client, cast: Cast,
                                                                      cards: None) -> None:
    client.force_login(cast.hni_responder)
    body = client.get("/readiness/?day=2026-11-20").content.decode()

    assert 'href="/readiness/HNI/' in body
    assert 'href="/readiness/HCM/' not in body and 'href="/readiness/DNG/' not in body


def test_the_central_soc_opens_every_scorecard(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.auditor)

    assert client.get("/readiness/HCM/?day=2026-11-20").status_code == 200
    assert client.get("/api/v1/readiness/scorecards/DNG/").status_code == 200


def test_hostile_collector_names_are_escaped_on_the_scorecard(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.lead)
    body = client.get("/readiness/DNG/?day=2026-11-20").content.decode()

    assert HOSTILE not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


# The published summary itself is public: tests/readiness/test_public_access.py.
@pytest.mark.parametrize("path", ["/readiness/", "/readiness/HNI/"])
def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, cast: Cast, cards: None, path: str) -> None:
    PublishedPeriod.objects.create(start=DAY, end=DAY)

    response = client.get(path)

    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("path", ["/api/v1/readiness/ranking/", "/api/v1/readiness/scorecards/HNI/",
                                  "/api/v1/readiness/publications/"])
def test_the_api_refuses_anonymous_callers(client: Client, cast: Cast, cards: None, path: str) -> None:
    PublishedPeriod.objects.create(start=DAY, end=DAY)

    assert client.get(path).status_code in (401, 403)


def test_meter_values_stay_machine_readable_in_vietnamese(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.lead)
    body = client.get("/readiness/?day=2026-11-20", HTTP_ACCEPT_LANGUAGE="vi").content.decode()

    assert 'value="91.0"' in body and 'value="91,0"' not in body
