"""Writes for organisations and memberships."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from organisations.actors import Actor
from organisations.models import ApiToken, AuditLog, Kind, Membership, Organisation
from organisations.provinces import NATIONAL_CODE, NATIONAL_NAME, PROVINCES

TOKEN_PREFIX = "soc_"  # noqa: S105  (a label, not a secret)


def organisation_tree_ensure() -> Organisation:
    """The national SOC and the 34 provinces below it; idempotent."""
    with transaction.atomic():
        national, _ = Organisation.objects.get_or_create(
            code=NATIONAL_CODE, defaults={"name": NATIONAL_NAME, "kind": Kind.NATIONAL})
        for code, name in PROVINCES:
            Organisation.objects.get_or_create(
                code=code, defaults={"name": name, "kind": Kind.PROVINCE, "parent": national})
    return national


def membership_grant(
    *, user: AbstractBaseUser, organisation: Organisation, role: str, actor: Actor | None = None
) -> Membership:
    with transaction.atomic():
        membership, _ = Membership.objects.update_or_create(
            user=user, organisation=organisation, defaults={"role": role})
        if actor is not None:
            audit_record(actor=actor, action="membership.granted", object_type="membership",
                         object_ref=str(membership.pk), organisation=organisation,
                         after={"user": user.get_username(), "role": role})
    return membership


def membership_revoke(*, membership: Membership, actor: Actor) -> None:
    """Takes effect on the user's next request (scope is never cached) and closes their sockets."""
    with transaction.atomic():
        audit_record(actor=actor, action="membership.revoked", object_type="membership",
                     object_ref=str(membership.pk), organisation=membership.organisation,
                     before={"user": membership.user.get_username(), "role": membership.role})
        membership.delete()


def user_group(user_id: int) -> str:
    """The per-user channel group every console socket of that user joins."""
    return f"user.{user_id}"


def user_notify_after_commit(*, user_id: int, message: dict[str, Any]) -> None:
    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(user_group(user_id), {"type": "live.message", "message": message})

    transaction.on_commit(send)


def audit_record(
    *, actor: Actor, action: str, object_type: str, object_ref: str, organisation: Organisation,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
) -> AuditLog:
    return AuditLog.objects.create(
        actor_id=actor.user_id, actor_name=actor.name, ip=actor.ip, action=action, object_type=object_type,
        object_ref=object_ref, organisation=organisation, before=before or {}, after=after or {},
    )


def audit_record_many(*, records: Iterable[AuditLog]) -> None:
    """One INSERT for a bulk change; build records with ``audit_entry``."""
    AuditLog.objects.bulk_create(list(records), batch_size=1000)


def audit_entry(
    *, actor: Actor, action: str, object_type: str, object_ref: str, organisation_id: int,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
) -> AuditLog:
    return AuditLog(
        actor_id=actor.user_id, actor_name=actor.name, ip=actor.ip, action=action, object_type=object_type,
        object_ref=object_ref, organisation_id=organisation_id, before=before or {}, after=after or {},
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: AbstractBaseUser, name: str, actor: Actor) -> tuple[ApiToken, str]:
    """The secret is returned once and never stored; only its sha256 is."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user_id=user.pk, name=name, prefix=secret[:8], digest=_digest(secret))
        home = Organisation.objects.filter(memberships__user_id=user.pk).order_by("path").first()
        if home is not None:
            audit_record(actor=actor, action="api_token.created", object_type="api_token",
                         object_ref=str(token.pk), organisation=home,
                         after={"user": user.get_username(), "name": name})
    return token, secret


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    token = (ApiToken.objects.select_related("user")
             .filter(digest=_digest(secret), revoked_at__isnull=True, user__is_active=True).first())
    if token is not None:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_with_role(*, username: str, password: str, organisation: Organisation, role: str) -> AbstractBaseUser:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    membership_grant(user=user, organisation=organisation, role=role)
    return user
