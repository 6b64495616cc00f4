"""However a membership disappears (service, admin, cascade), the user's open sockets are closed; a membership or
organisation written during a request is read again by the rest of it."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from organisations.models import Membership, Organisation
from organisations.selectors import access_forget
from soc.live import user_notify_after_commit


@receiver([post_save, post_delete], sender=Membership)
@receiver([post_save, post_delete], sender=Organisation)
def access_changed(sender: type[Membership | Organisation], **kwargs: object) -> None:
    """Grants read earlier in this request are stale (organisations.selectors.access_read_once)."""
    access_forget()


@receiver(post_delete, sender=Membership)
def membership_deleted(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    user_notify_after_commit(user_id=instance.user_id, message={
        "kind": "membership.revoked", "organisation": instance.organisation_id})
