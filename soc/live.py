"""Live updates: the one way to push a message to open consoles.

Messages go out only after the surrounding transaction commits (a rolled-back
change must never reach a screen), and only to the groups of organisations
allowed to see them: the object's own organisation and each of its ancestors.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from redis import asyncio as aioredis

from organisations.models import Organisation

log = logging.getLogger(__name__)


def org_group(code: str) -> str:
    return f"org.{code}"


def user_group(user_id: int) -> str:
    """The per-user channel group every console socket of that user joins."""
    return f"user.{user_id}"


def groups_for(organisation: Organisation) -> list[str]:
    """Every group that may see an object of ``organisation`` (path VN/HNI/SITE/)."""
    return [org_group(code) for code in organisation.path.strip("/").split("/")]


def broadcast_after_commit(*, organisation: Organisation, message: dict[str, Any]) -> None:
    """One message to everyone who may see an object of ``organisation``."""
    _send_after_commit([(group, message) for group in groups_for(organisation)])


def broadcast_many_after_commit(*, messages: list[tuple[Organisation, dict[str, Any]]]) -> None:
    """Like ``broadcast_after_commit`` for each (organisation, message) pair, in one event loop turn:
    a thousand separate ``async_to_sync`` calls cost seconds (bulk changes send one message per incident)."""
    _send_after_commit([(group, message) for organisation, message in messages
                        for group in groups_for(organisation)])


def user_notify_after_commit(*, user_id: int, message: dict[str, Any]) -> None:
    """One message to every open console of one user (mentions, notifications, a session ended)."""
    _send_after_commit([(user_group(user_id), message)])


def _send_after_commit(sends: list[tuple[str, dict[str, Any]]]) -> None:
    """The one place messages leave: after the surrounding transaction commits, all in one loop turn."""
    if not sends:
        return

    async def send_all() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group, message in sends:
            await layer.group_send(group, {"type": "live.message", "message": message})

    transaction.on_commit(async_to_sync(send_all))


def websocket_key() -> str:
    """A Redis hash of open console sockets: one field per web process, summed by /metrics (soc.metrics)."""
    return f"{settings.NAMESPACE}:ws:connections"


async def websocket_count(delta: int) -> None:
    """Add ``delta`` to this process's open sockets. Never fails the socket: a lost count is a wrong gauge only.

    A process that exits cleanly closes its sockets and counts them down; one killed outright leaves its field
    (host:pid) behind until an operator deletes it (docs/scaling.md).
    """
    try:
        async with aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=1) as redis:
            await redis.hincrby(websocket_key(), f"{socket.gethostname()}:{os.getpid()}", delta)
    except Exception:
        log.warning("could not count a WebSocket %s", "opened" if delta > 0 else "closed", exc_info=True)
