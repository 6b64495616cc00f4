"""Reads about organisations and what a user may see."""

from __future__ import annotations

from typing import Any, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from organisations.models import AuditLog, AuditLogQuerySet, Kind, Membership, Organisation

AnyUser: TypeAlias = AbstractBaseUser | AnonymousUser


def visible_org_codes(user: AnyUser) -> list[str] | None:
    """Codes of every organisation a user may see, or None for "all" (national scope).

    Events carry the code of the collector's organisation in ``organization.id``;
    this is the scope handed to Elasticsearch searches and WebSocket groups.
    """
    visible = Organisation.objects.visible_to(user)
    if visible.filter(kind=Kind.NATIONAL).exists():
        return None
    return sorted(visible.values_list("code", flat=True))


def scope_to_provinces(queryset: QuerySet[Any], user: AnyUser, field: str = "province") -> QuerySet[Any]:
    """Restrict any queryset with a province foreign key to the user's subtree.

    A member of every root of the tree sees everything: the filter is left out so the database can
    walk an ordering index instead of sorting the whole table (same rows, read fresh each call).
    """
    if _holds_every_root(user):
        return queryset.filter(**{f"{field}__isnull": False})
    return queryset.filter(**{f"{field}__in": Organisation.objects.visible_to(user)})


def _holds_every_root(user: AnyUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    # One query (it runs on every scoped page): the roots, and how many of them the user is a member of.
    counts = Organisation.objects.filter(parent__isnull=True).aggregate(
        roots=Count("pk", distinct=True), held=Count("pk", distinct=True, filter=Q(memberships__user_id=user.pk)))
    return bool(counts["roots"]) and counts["held"] == counts["roots"]


def user_grants(user: AnyUser) -> list[tuple[str, str]]:
    """(organisation path, role) for each membership, read fresh on every call: never cached,
    so a revoked membership stops counting on the user's next request."""
    if not user.is_authenticated or not user.is_active:
        return []
    return list(Membership.objects.filter(user_id=user.pk).values_list("organisation__path", "role"))


def membership_list(*, user: AnyUser) -> QuerySet[Membership]:
    """Memberships of the organisations the user may see."""
    return scope_to_provinces(Membership.objects.select_related("user", "organisation"), user, "organisation")


def membership_get(*, user: AnyUser, membership_id: int) -> Membership:
    try:
        return membership_list(user=user).get(pk=membership_id)
    except Membership.DoesNotExist as exc:
        raise Http404("No such membership") from exc


def audit_list(*, user: AnyUser) -> AuditLogQuerySet:
    return AuditLog.objects.visible_to(user)


def organisation_list(*, user: AnyUser) -> QuerySet[Organisation]:
    """The user's subtree, parents before children."""
    return Organisation.objects.visible_to(user).select_related("parent").order_by("path")


def organisation_get(*, user: AnyUser, code: str) -> Organisation:
    try:
        return organisation_list(user=user).get(code=code)
    except Organisation.DoesNotExist as exc:
        raise Http404("No such organisation") from exc
