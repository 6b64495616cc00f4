"""The live feed: a change reaches the sockets of those who may see it, after commit, and nobody else's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from incidents.consumers import IncidentFeedConsumer
from incidents.models import Status
from incidents.services.collaboration import comment_add
from incidents.services.intake import incident_create
from incidents.services.workflow import incident_change_status
from organisations.actors import Actor
from tests.conftest import Cast


async def _open(user: User) -> ApplicationCommunicator:
    scope = {"type": "websocket", "path": "/ws/incidents/", "headers": [], "subprotocols": [], "user": user}
    socket = ApplicationCommunicator(IncidentFeedConsumer.as_asgi(), scope)
    await socket.send_input({"type": "websocket.connect"})
    assert (await socket.receive_output(timeout=5))["type"] == "websocket.accept"
    return socket


async def _drain(socket: ApplicationCommunicator) -> list[dict[str, Any]]:
    kinds = []
    while True:
        try:
            event = await socket.receive_output(timeout=0.5)
        except TimeoutError:
            break  # the communicator has stopped the consumer
        kinds.append(json.loads(event["text"]))
    return kinds


async def _scenario(cast: Cast) -> dict[str, list[dict[str, Any]]]:
    sockets = {name: await _open(getattr(cast, name)) for name in ("hni_responder", "hcm_responder", "analyst")}

    def work() -> None:
        incident = incident_create(province=cast.hni, title="canary-HNI")
        incident_change_status(incident=incident, status=Status.TRIAGED, actor=Actor(user=cast.analyst))
        comment_add(incident=incident, body="@hni.responder look", actor=Actor(user=cast.analyst))

    await database_sync_to_async(work)()
    return {name: await _drain(socket) for name, socket in sockets.items()}


@pytest.mark.django_db(transaction=True)
def test_changes_reach_the_province_and_the_centre_but_not_another_province(cast: Cast) -> None:
    seen = async_to_sync(_scenario)(cast)

    def incident_kinds(name: str) -> list[str]:
        return [m["kind"] for m in seen[name] if m["kind"].startswith("incident.")]

    assert incident_kinds("hni_responder") == ["incident.created", "incident.updated", "incident.updated"]
    assert incident_kinds("analyst") == ["incident.created", "incident.updated", "incident.updated"]
    assert seen["hcm_responder"] == []
    assert any(m["kind"] == "comment.mention" for m in seen["hni_responder"])
