"""Accounts in the admin: preferences and sessions are shown only; user accounts are managed here, audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Preference, UserSession
from organisations.actors import Actor
from organisations.models import Kind, Organisation
from organisations.services import audit_record
from soc.admin import ReadOnlyAdmin


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin[Preference]):
    """Read-only: clearing ``totp_confirmed_at`` here would switch a user's second factor off unaudited."""

    list_display = ("user", "language", "time_zone", "totp_confirmed_at")
    exclude = ("totp_secret",)


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin[UserSession]):
    """Read-only: deleting a row would not end the session; logout and deactivation do (accounts.services)."""

    list_display = ("user", "created_at")


admin.site.unregister(Group)


@admin.register(Group)
class ReadOnlyGroupAdmin(ReadOnlyAdmin[Group], GroupAdmin):
    """Roles are memberships (organisations), not groups: a group here would only grant admin permissions."""


admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Accounts have no console page yet, so they are created, reset and deactivated here; every change the
    admin logs (including a new password and the staff and superuser flags) is also in the audit log."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        _audit(request, obj, action="user.created", change=message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        _audit(request, obj, action="user.changed", change=message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[User]) -> Any:
        for user in queryset:
            _audit(request, user, action="user.deleted", change=[])
        return super().log_deletions(request, queryset)


def _audit(request: HttpRequest, user: User, *, action: str, change: Any) -> None:
    """Scoped to the user's home organisation, or the national SOC for accounts that have none."""
    home = (Organisation.objects.filter(memberships__user_id=user.pk).order_by("path").first()
            or Organisation.objects.filter(kind=Kind.NATIONAL).first())
    if home is None:  # no organisation tree yet: nothing exists that an entry could be scoped to
        return
    audit_record(actor=Actor.from_request(request), action=action, object_type="user", object_ref=str(user.pk),
                 organisation=home, after={"username": user.get_username(), "is_active": user.is_active,
                                           "is_staff": user.is_staff, "is_superuser": user.is_superuser,
                                           "change": change if isinstance(change, list) else str(change)})
