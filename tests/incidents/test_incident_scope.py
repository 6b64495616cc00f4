"""A province sees only its own incidents; another province's answers 404 like a missing one."""

from __future__ import annotations

import pytest
from django.test import Client

from incidents.models import Incident
from incidents.services.intake import incident_create
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def incidents(cast: Cast) -> tuple[Incident, Incident]:
    return (incident_create(province=cast.hni, title="canary-HNI"),
            incident_create(province=cast.hcm, title="canary-HCM"))


def test_ids_are_per_province_and_year(incidents: tuple[Incident, Incident], cast: Cast) -> None:
    third = incident_create(province=cast.hni, title="again")

    assert incidents[0].key.endswith("-0001") and third.key.endswith("-0002")
    assert incidents[1].key.startswith("HCM-")


def test_the_central_soc_sees_every_province(client: Client, cast: Cast,
                                             incidents: tuple[Incident, Incident]) -> None:
    client.force_login(cast.analyst)
    body = client.get("/incidents/").content.decode()

    assert "canary-HNI" in body and "canary-HCM" in body


@pytest.mark.parametrize("path", ["/incidents/{key}/", "/api/v1/incidents/{key}/"])
def test_another_provinces_incident_is_404_like_a_missing_one(
        client: Client, cast: Cast, incidents: tuple[Incident, Incident], path: str) -> None:
    client.force_login(cast.hcm_responder)

    assert client.get(path.format(key=incidents[0].key)).status_code == 404
    assert client.get(path.format(key="HNI-2026-9999")).status_code == 404
    assert client.get(path.format(key=incidents[1].key)).status_code == 200


def test_lists_hold_only_the_users_province(client: Client, cast: Cast,
                                            incidents: tuple[Incident, Incident]) -> None:
    client.force_login(cast.hcm_responder)

    page = client.get("/incidents/").content.decode()
    api = client.get("/api/v1/incidents/").json()

    assert "canary-HCM" in page and "canary-HNI" not in page
    assert [row["title"] for row in api["results"]] == ["canary-HCM"]


def test_anonymous_users_are_sent_to_login_and_the_api_refuses_them(
        client: Client, incidents: tuple[Incident, Incident]) -> None:
    assert client.get("/incidents/").status_code == 302
    resp = client.get("/api/v1/incidents/")
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "not_authenticated"


def test_hostile_titles_are_escaped(client: Client, cast: Cast) -> None:
    incident_create(province=cast.hni, title='<script>alert(1)</script><img src=x onerror=alert(2)>')
    client.force_login(cast.analyst)

    body = client.get("/incidents/").content.decode()

    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
