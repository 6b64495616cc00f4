"""Reads about organisations and what a user may see."""

from __future__ import annotations

from typing import Any, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from organisations.models import Kind, Organisation

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
    """Restrict any queryset with a province foreign key to the user's subtree."""
    return queryset.filter(**{f"{field}__in": Organisation.objects.visible_to(user)})
