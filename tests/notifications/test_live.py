"""Live pushes of notifications to the user's open consoles, after commit, only where nothing else announces it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from incidents.services.intake import incident_create
from notifications.services import notification_mark_read
from soc.live import user_group
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
    message, badge = received(channel)
    assert message["kind"] == "notification"
    assert message["notification"]["incident"] == incident.key and "<b>t</b>" in message["notification"]["text"]
    assert badge == {"kind": "notifications.unread", "unread": 1}


def test_a_new_high_incident_only_updates_the_unread_badge(cast: Cast,
                                                         django_capture_on_commit_callbacks: Any) -> None:
    """The incident itself reaches the console as "incident.created"; the user's group only gets the count."""
    channel = listen(cast.hni_responder.pk)
    with django_capture_on_commit_callbacks(execute=True):
        incident_create(province=cast.hni, title="t", severity="critical")
    assert received(channel) == [{"kind": "notifications.unread", "unread": 1}]


def test_reading_notifications_sends_the_new_unread_count(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        incident_create(province=cast.hni, title="t", severity="critical")
        incident_create(province=cast.hni, title="u", severity="critical")
    channel = listen(cast.hni_responder.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert notification_mark_read(user=cast.hni_responder) == 2
        assert notification_mark_read(user=cast.hni_responder) == 0
    assert received(channel) == [{"kind": "notifications.unread", "unread": 0}]


def test_the_unread_count_is_not_sent_when_the_change_rolls_back(
        cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    channel = listen(cast.hni_responder.pk)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            incident_create(province=cast.hni, title="t", severity="critical")
            raise RuntimeError("rolled back")
        incident_create(province=cast.hni, title="u", severity="critical")
    assert received(channel) == [{"kind": "notifications.unread", "unread": 1}]


def test_each_person_told_gets_their_own_unread_count(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        incident_create(province=cast.hcm, title="only national and HCM", severity="critical")
    responder, analyst = listen(cast.hni_responder.pk), listen(cast.analyst.pk)
    with django_capture_on_commit_callbacks(execute=True):
        incident_create(province=cast.hni, title="HNI and national", severity="critical")
    assert received(responder) == [{"kind": "notifications.unread", "unread": 1}]
    assert received(analyst) == [{"kind": "notifications.unread", "unread": 2}]
