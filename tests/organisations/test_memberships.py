"""Provincial admins manage their province's members; only the centre grants central roles."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from organisations.models import AuditLog, Membership, Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def hni_admin(cast: Cast) -> User:
    user = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni,
                          role=Role.PROVINCIAL_ADMIN)
    assert isinstance(user, User)
    return user


def _grant(client: Client, username: str, organisation: str, role: str) -> int:
    return client.post("/api/v1/memberships/", {"username": username, "organisation": organisation, "role": role},
                       content_type="application/json").status_code


def test_a_provincial_admin_adds_a_responder_to_their_province(cast: Cast, hni_admin: User, client: Client) -> None:
    newcomer = User.objects.create_user("hni.newcomer", password=PASSWORD)
    client.force_login(hni_admin)

    assert _grant(client, "hni.newcomer", "HNI", Role.PROVINCIAL_RESPONDER) == 201
    assert Membership.objects.filter(user=newcomer, organisation=cast.hni).exists()
    assert AuditLog.objects.filter(action="membership.granted", actor_name="hni.admin").exists()


def test_a_provincial_admin_cannot_grant_central_roles_or_touch_another_province(
        cast: Cast, hni_admin: User, client: Client) -> None:
    User.objects.create_user("someone", password=PASSWORD)
    client.force_login(hni_admin)

    assert _grant(client, "someone", "HNI", Role.CENTRAL_LEAD) == 403
    assert _grant(client, "someone", "HNI", Role.AUDITOR) == 403
    assert _grant(client, "someone", "HCM", Role.PROVINCIAL_RESPONDER) == 400
    assert not Membership.objects.filter(user__username="someone").exists()


def test_the_members_page_lists_only_the_users_province(cast: Cast, hni_admin: User, client: Client) -> None:
    client.force_login(hni_admin)

    page = client.get("/organisations/members/").content.decode()

    assert "hni.responder" in page and "hcm.responder" not in page and "analyst" not in page


def test_the_console_removes_a_member(cast: Cast, hni_admin: User, client: Client) -> None:
    membership = Membership.objects.get(user=cast.hni_responder)
    client.force_login(hni_admin)

    assert client.post(f"/organisations/members/{membership.pk}/revoke/").status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
