"""Live updates: the one way to push a message to open consoles.

Messages go out only after the surrounding transaction commits (a rolled-back
change must never reach a screen), and only to the groups of organisations
allowed to see them: the object's own organisation and each of its ancestors.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from organisations.models import Organisation


def org_group(code: str) -> str:
    return f"org.{code}"


def groups_for(organisation: Organisation) -> list[str]:
    """Every group that may see an object of ``organisation`` (path VN/HNI/SITE/)."""
    return [org_group(code) for code in organisation.path.strip("/").split("/")]


def broadcast_after_commit(*, organisation: Organisation, message: dict[str, Any]) -> None:
    groups = groups_for(organisation)

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group in groups:
            async_to_sync(layer.group_send)(group, {"type": "live.message", "message": message})

    transaction.on_commit(send)
