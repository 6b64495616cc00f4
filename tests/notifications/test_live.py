"""Live pushes of notifications to the user's open consoles, after commit, only where nothing else announces it."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from incidents.services import incident_create
from organisations.services import user_group
from tests.conftest import Cast


def listen(user_id: int) -> str:
    layer = get_channel_layer()
    assert layer is not None
    channel: str = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user_id), channel)
    return channel


def received(channel: str) -> list[dict[str, Any]]:
    layer = get_channel_layer()
    assert layer is not None

    async def drain() -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append((await asyncio.wait_for(layer.receive(channel), timeout=0.5))["message"])
            except TimeoutError:
                return out

    return async_to_sync(drain)()


def test_an_assignment_is_pushed_live_to_the_assignee(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    channel = listen(cast.hni_responder.pk)
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_create(province=cast.hni, title="<b>t</b>", severity="low")
        incident.assignee = cast.hni_responder
        incident.save()
    [message] = received(channel)
    assert message["kind"] == "notification"
    assert message["notification"]["incident"] == incident.key and "<b>t</b>" in message["notification"]["text"]


def test_a_new_high_incident_is_not_pushed_twice(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    channel = listen(cast.hni_responder.pk)
    with django_capture_on_commit_callbacks(execute=True):
        incident_create(province=cast.hni, title="t", severity="critical")
    assert received(channel) == []
