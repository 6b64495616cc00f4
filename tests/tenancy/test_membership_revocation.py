"""Removing someone from a province takes effect on their next request and closes their live feed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from incidents.consumers import SCOPE_CHANGED, IncidentFeedConsumer
from incidents.services.intake import incident_create
from organisations.actors import Actor
from organisations.models import AuditLog, Membership, Role
from organisations.services import membership_revoke, user_with_role
from tests.conftest import PASSWORD, Cast


@pytest.mark.django_db
def test_a_removed_responder_loses_the_province_on_the_next_request(client: Client, cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="canary-HNI")
    admin = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni,
                           role=Role.PROVINCIAL_ADMIN)
    assert isinstance(admin, User)
    client.force_login(cast.hni_responder)
    assert client.get(f"/api/v1/incidents/{incident.key}/").status_code == 200

    membership = Membership.objects.get(user=cast.hni_responder, organisation=cast.hni)
    other = Client()
    other.force_login(admin)
    assert other.delete(f"/api/v1/memberships/{membership.pk}/").status_code == 204

    assert client.get(f"/api/v1/incidents/{incident.key}/").status_code == 404
    assert client.get("/api/v1/incidents/").json()["results"] == []
    assert AuditLog.objects.filter(action="membership.revoked", object_ref=str(membership.pk)).exists()


@pytest.mark.django_db
def test_a_responder_cannot_remove_members_and_another_provinces_admin_sees_no_such_membership(
        client: Client, cast: Cast) -> None:
    membership = Membership.objects.get(user=cast.hni_responder, organisation=cast.hni)
    hcm_admin = user_with_role(username="hcm.admin", password=PASSWORD, organisation=cast.hcm,
                               role=Role.PROVINCIAL_ADMIN)
    assert isinstance(hcm_admin, User)
    client.force_login(cast.hni_responder)
    assert client.delete(f"/api/v1/memberships/{membership.pk}/").status_code == 403
    client.force_login(hcm_admin)
    assert client.delete(f"/api/v1/memberships/{membership.pk}/").status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


async def _feed_closes_when_revoked(user: User, membership: Membership) -> dict[str, Any]:
    # channels.testing would import daphne; the raw ASGI communicator needs nothing more.
    scope = {"type": "websocket", "path": "/ws/incidents/", "headers": [], "subprotocols": [], "user": user}
    communicator = ApplicationCommunicator(IncidentFeedConsumer.as_asgi(), scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output(timeout=5))["type"] == "websocket.accept"

    await database_sync_to_async(membership_revoke)(membership=membership, actor=Actor.system())
    message = await communicator.receive_output(timeout=5)
    closed = await communicator.receive_output(timeout=5)
    await communicator.send_input({"type": "websocket.disconnect", "code": SCOPE_CHANGED})
    await communicator.wait(timeout=5)
    return {"message": json.loads(message["text"]), "closed": closed}


@pytest.mark.django_db(transaction=True)
def test_removing_a_membership_closes_that_users_open_websockets(cast: Cast) -> None:
    membership = Membership.objects.get(user=cast.hni_responder, organisation=cast.hni)

    seen = async_to_sync(_feed_closes_when_revoked)(cast.hni_responder, membership)

    assert seen["message"]["kind"] == "membership.revoked"
    assert seen["closed"] == {"type": "websocket.close", "code": SCOPE_CHANGED}
