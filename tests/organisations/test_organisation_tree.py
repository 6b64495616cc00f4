"""Organisations below a province: provincial admins add agencies and sites, the central lead provinces."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.services.intake import incident_create
from organisations.models import AuditLog, Kind, Organisation, Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def hni_admin(cast: Cast) -> User:
    user = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni,
                          role=Role.PROVINCIAL_ADMIN)
    assert isinstance(user, User)
    return user


def _as(user: User) -> Client:
    client = Client(REMOTE_ADDR="203.0.113.20")
    client.force_login(user)
    return client


def _create(client: Client, **body: Any) -> Any:
    return client.post("/api/v1/organisations/", body, content_type="application/json")


def test_a_provincial_admin_adds_a_site_below_their_province(cast: Cast, hni_admin: User) -> None:
    response = _create(_as(hni_admin), parent_code="HNI", code="hni-dot", name="Sở Thông tin", kind="site")

    assert response.status_code == 201
    assert response.json() == {"code": "HNI-DOT", "name": "Sở Thông tin", "kind": "site", "parent_code": "HNI"}
    site = Organisation.objects.get(code="HNI-DOT")
    assert site.path == "VN/HNI/HNI-DOT/" and site.province == cast.hni
    entry = AuditLog.objects.get(action="organisation.created", object_ref="HNI-DOT")
    assert (entry.actor_name, entry.ip, entry.after["parent"]) == ("hni.admin", "203.0.113.20", "HNI")


def test_the_site_is_part_of_its_province_for_scope(cast: Cast, hni_admin: User) -> None:
    _create(_as(hni_admin), parent_code="HNI", code="HNI-DOT", name="Sở", kind="site")
    incident = incident_create(province=Organisation.objects.get(code="HNI-DOT"), title="site incident")

    assert _as(cast.hni_responder).get(f"/api/v1/incidents/{incident.key}/").status_code == 200
    assert _as(cast.hcm_responder).get(f"/api/v1/incidents/{incident.key}/").status_code == 404


def test_a_provincial_admin_cannot_add_provinces_or_sites_elsewhere(cast: Cast, hni_admin: User) -> None:
    client = _as(hni_admin)

    assert _create(client, parent_code="VN", code="NEW", name="x", kind="province").status_code == 404
    assert _create(client, parent_code="HCM", code="HCM-X", name="x", kind="site").status_code == 404
    assert _as(cast.hni_responder).post("/api/v1/organisations/", {}, content_type="application/json"
                                        ).status_code == 403
    assert _create(_as(cast.auditor), parent_code="HNI", code="HNI-Y", name="x", kind="site").status_code == 403
    assert not Organisation.objects.filter(code__in=["NEW", "HCM-X", "HNI-Y"]).exists()


def test_the_central_lead_adds_a_province_and_bad_input_is_explained(cast: Cast) -> None:
    client = _as(cast.lead)

    assert _create(client, parent_code="VN", code="NEWP", name="Tỉnh mới", kind="province").status_code == 201
    assert Organisation.objects.get(code="NEWP").kind == Kind.PROVINCE
    taken = _create(client, parent_code="VN", code="HNI", name="again", kind="province")
    misplaced = _create(client, parent_code="VN", code="VN-SITE", name="x", kind="site")
    malformed = _create(client, parent_code="HNI", code="bad code!", name="x", kind="site")
    assert taken.status_code == misplaced.status_code == malformed.status_code == 400
    assert "taken" in taken.json()["error"]["message"]
    assert "cannot sit below" in misplaced.json()["error"]["message"]
    assert "capital letters" in malformed.json()["error"]["message"]


def test_renaming_is_audited_and_limited_to_who_manages_it(cast: Cast, hni_admin: User) -> None:
    _create(_as(hni_admin), parent_code="HNI", code="HNI-DOT", name="Old", kind="site")

    renamed = _as(hni_admin).patch("/api/v1/organisations/HNI-DOT/", {"name": "New"},
                                   content_type="application/json")
    province = _as(hni_admin).patch("/api/v1/organisations/HNI/", {"name": "Hà Nội 2"},
                                    content_type="application/json")

    assert renamed.json()["name"] == "New" and province.status_code == 403
    assert AuditLog.objects.get(action="organisation.renamed").before == {"name": "Old"}
    assert Organisation.objects.get(code="HNI").name != "Hà Nội 2"


def test_the_list_shows_only_the_callers_subtree(cast: Cast, hni_admin: User) -> None:
    codes = [o["code"] for o in _as(cast.hni_responder).get("/api/v1/organisations/").json()["results"]]

    assert codes == ["HNI"]


def test_the_console_page_adds_a_site_and_shows_errors(cast: Cast, hni_admin: User) -> None:
    client = _as(hni_admin)

    ok = client.post("/organisations/", {"parent": "HNI", "code": "HNI-SO", "name": "<b>Sở</b>", "kind": "site"},
                     follow=True)
    bad = client.post("/organisations/", {"parent": "HNI", "code": "HNI-SO", "name": "dup", "kind": "site"},
                      follow=True)

    assert ok.status_code == 200 and b"&lt;b&gt;S" in ok.content and b"<b>S" not in ok.content
    assert "taken" in bad.content.decode()
    assert _as(cast.hni_responder).post("/organisations/", {"parent": "HNI"}).status_code == 403
