"""However a membership disappears (service, admin, cascade), the user's open sockets are closed."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from organisations.models import Membership
from organisations.services import user_notify_after_commit


@receiver(post_delete, sender=Membership)
def membership_deleted(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    user_notify_after_commit(user_id=instance.user_id, message={
        "kind": "membership.revoked", "organisation": instance.organisation_id})
