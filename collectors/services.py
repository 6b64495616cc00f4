"""Writes for collectors: enrollment, credentials, revocation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from collectors.models import Collector, EnrollmentToken
from organisations.models import Organisation
from organisations.selectors import AnyUser


class EnrollmentError(Exception):
    """The enrollment token is unknown, used or expired (one message for all)."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def enrollment_token_create(
    *, organisation: Organisation, created_by: AnyUser | None, ttl: timedelta = timedelta(hours=24)
) -> str:
    """Returns the token once; only its digest is kept."""
    token = "enr_" + secrets.token_urlsafe(32)
    EnrollmentToken.objects.create(
        organisation=organisation, token_hash=digest(token), expires_at=timezone.now() + ttl,
        created_by_id=created_by.pk if created_by is not None and created_by.is_authenticated else None,
    )
    return token


def collector_enroll(*, token: str, name: str, version: str = "") -> tuple[Collector, str]:
    """Trade a one-time enrollment token for the collector's own credential."""
    with transaction.atomic():
        enrollment = (
            EnrollmentToken.objects.select_for_update()
            .filter(token_hash=digest(token), used_at__isnull=True, expires_at__gt=timezone.now())
            .select_related("organisation")
            .first()
        )
        if enrollment is None:
            raise EnrollmentError("enrollment token is invalid, used or expired")
        try:
            with transaction.atomic():
                collector, secret = collector_create(
                    organisation=enrollment.organisation, name=name, version=version)
        except IntegrityError as exc:
            raise EnrollmentError(f"a collector named {name!r} is already enrolled here") from exc
        enrollment.used_at = timezone.now()
        enrollment.collector = collector
        enrollment.save(update_fields=["used_at", "collector"])
    return collector, secret


def collector_create(*, organisation: Organisation, name: str, version: str = "") -> tuple[Collector, str]:
    secret = "col_" + secrets.token_urlsafe(32)
    collector = Collector.objects.create(
        organisation=organisation, name=name, version=version, secret_hash=digest(secret)
    )
    return collector, secret


def collector_authenticate(*, secret: str) -> Collector | None:
    """The active collector holding this credential, or None (unknown or revoked)."""
    if not secret or len(secret) > 200:
        return None
    return (
        Collector.objects.select_related("organisation")
        .filter(secret_hash=digest(secret), revoked_at__isnull=True)
        .first()
    )


def collector_revoke(*, collector: Collector) -> None:
    collector.revoked_at = timezone.now()
    collector.save(update_fields=["revoked_at"])


def collector_mark_seen(*, collector: Collector) -> None:
    """At most one write per collector every few seconds, however often it ships."""
    now = timezone.now()
    if collector.last_seen_at is None or now - collector.last_seen_at > timedelta(seconds=5):
        Collector.objects.filter(pk=collector.pk).update(last_seen_at=now)
        collector.last_seen_at = now
