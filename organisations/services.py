"""Writes for organisations and memberships."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
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


CODE_FORMAT = re.compile(r"[A-Z][A-Z0-9-]{1,15}")
# What may sit below what: provinces below the national SOC, agencies and sites below a province or a site.
CHILD_KINDS: dict[str, set[str]] = {Kind.NATIONAL: {Kind.PROVINCE}, Kind.PROVINCE: {Kind.SITE}, Kind.SITE: {Kind.SITE}}


def organisation_create(*, parent: Organisation, code: str, name: str, kind: str, actor: Actor) -> Organisation:
    """A province below the national SOC, or an agency or site below a province; the code is permanent
    because it is written on every event and incident id of that organisation."""
    code, name = code.strip().upper(), name.strip()
    if not CODE_FORMAT.fullmatch(code):
        raise ValidationError("The code is 2 to 16 capital letters, digits or dashes, starting with a letter.")
    if not name:
        raise ValidationError("Give the organisation a name.")
    if kind not in CHILD_KINDS.get(parent.kind, set()):
        raise ValidationError(f"A {Kind(kind).label if kind in Kind.values else kind} cannot sit below "
                              f"{parent.code}.")
    with transaction.atomic():
        if Organisation.objects.filter(code=code).exists():
            raise ValidationError(f"The code {code} is taken.")
        organisation = Organisation.objects.create(code=code, name=name[:200], kind=kind, parent=parent)
        audit_record(actor=actor, action="organisation.created", object_type="organisation", object_ref=code,
                     organisation=organisation, after={"name": organisation.name, "kind": kind,
                                                       "parent": parent.code})
    return organisation


def organisation_rename(*, organisation: Organisation, name: str, actor: Actor) -> Organisation:
    name = name.strip()[:200]
    if not name:
        raise ValidationError("Give the organisation a name.")
    with transaction.atomic():
        before = {"name": organisation.name}
        organisation.name = name
        organisation.save(update_fields=["name"])
        audit_record(actor=actor, action="organisation.renamed", object_type="organisation",
                     object_ref=organisation.code, organisation=organisation, before=before, after={"name": name})
    return organisation


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


def api_token_revoke(*, token: ApiToken, actor: Actor) -> bool:
    """Stop a token from working at once; False when it was already revoked. Audited like its creation."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        home = Organisation.objects.filter(memberships__user_id=token.user_id).order_by("path").first()
        if revoked and home is not None:
            audit_record(actor=actor, action="api_token.revoked", object_type="api_token", object_ref=str(token.pk),
                         organisation=home, before={"user": token.user.get_username(), "name": token.name})
    return bool(revoked)


def user_with_role(*, username: str, password: str, organisation: Organisation, role: str) -> AbstractBaseUser:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    membership_grant(user=user, organisation=organisation, role=role)
    return user
