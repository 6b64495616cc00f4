"""Live incident feed for the console over a WebSocket."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from organisations.models import Membership
from soc.live import org_group, user_group, websocket_count

# Close code sent when the user's scope changed: the console reconnects and gets the new scope.
SCOPE_CHANGED = 4403
# Close code when the user signed out or was deactivated: the console must not reconnect.
SIGNED_OUT = 4401


@database_sync_to_async
def _membership_groups(user_id: int) -> list[str]:
    codes = Membership.objects.filter(user_id=user_id).values_list("organisation__code", flat=True)
    return [org_group(code) for code in codes]


class IncidentFeedConsumer(AsyncJsonWebsocketConsumer):
    """Joins one group per organisation the user belongs to.

    Messages are sent to the object's organisation and all its ancestors
    (soc.live.groups_for), so joining one's own organisations is exactly the
    visible scope: the national SOC sees all, a province its own subtree.

    It also joins the user's own group (soc.live.user_group) for
    personal messages; ``membership.revoked`` there closes the socket, so a
    removed user stops receiving a province's updates at once (the console
    reconnects and joins whatever groups remain).
    """

    groups_joined: list[str]
    counted = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=SIGNED_OUT)
            return
        self.groups_joined = [*await _membership_groups(user.pk), user_group(user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.counted = True
        await websocket_count(+1)

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            await websocket_count(-1)
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The feed is one-way; anything a client sends is ignored."""

    async def live_message(self, event: dict[str, Any]) -> None:
        message = event["message"]
        await self.send_json(message)
        if message.get("kind") == "membership.revoked":
            await self.close(code=SCOPE_CHANGED)
        elif message.get("kind") == "session.ended":  # logout or deactivation (accounts.services)
            await self.close(code=SIGNED_OUT)
