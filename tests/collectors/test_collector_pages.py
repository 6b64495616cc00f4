"""Console pages for collectors: scoped list with health, one-time tokens, revocation; hostile text escaped."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from collectors.models import Collector
from collectors.services import collector_enroll
from organisations.models import Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast, EnrolledCollector

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hni_admin(cast: Cast) -> Any:
    return user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni, role=Role.PROVINCIAL_ADMIN)


def test_the_list_shows_only_the_users_province_with_hostile_text_escaped(
        cast: Cast, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector) -> None:
    Collector.objects.filter(pk=hni_collector.collector.pk).update(
        health={"last_error": "<script>alert(1)</script>", "spool": {"depth": 7, "bytes": 2048}})

    page = as_user(cast.hni_responder).get("/collectors/").content.decode()

    assert "HNI-WEB-01" in page and "HCM-WEB-01" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Revoke" not in page and "one-time token" not in page, "a responder manages nothing"


def test_a_provincial_admin_creates_a_token_that_enrolls_in_their_province_only(
        cast: Cast, hni_admin: Any) -> None:
    client = as_user(hni_admin)

    page = client.post("/collectors/enrollment-tokens", {"organisation": "HNI"}).content.decode()
    [token] = re.findall(r"<code>(enr_[^<]+)</code>", page)
    collector, _ = collector_enroll(token=token, name="HNI-NEW-01")

    assert collector.organisation.code == "HNI"
    assert client.post("/collectors/enrollment-tokens", {"organisation": "HCM"}).status_code == 403
    assert as_user(cast.hni_responder).post("/collectors/enrollment-tokens",
                                            {"organisation": "HNI"}).status_code == 403


def test_revocation_needs_the_role_and_another_provinces_collector_is_a_404(
        cast: Cast, hni_admin: Any, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector) -> None:
    assert as_user(cast.hni_responder).post(f"/collectors/{hni_collector.collector.uid}/revoke").status_code == 403
    assert as_user(hni_admin).post(f"/collectors/{hcm_collector.collector.uid}/revoke").status_code == 404

    resp = as_user(hni_admin).post(f"/collectors/{hni_collector.collector.uid}/revoke")

    assert resp.status_code == 302
    assert Collector.objects.get(pk=hni_collector.collector.pk).revoked_at is not None
    assert Collector.objects.get(pk=hcm_collector.collector.pk).revoked_at is None


def test_anonymous_users_are_sent_to_login() -> None:
    assert Client().get("/collectors/").status_code == 302
