"""Reads of notifications: always the user's own."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import ChannelPreference, Kind, Notification
from organisations.selectors import AnyUser


def notification_list(*, user: AnyUser) -> QuerySet[Notification]:
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=int(user.pk)).select_related("incident")


def unread_count(*, user: AnyUser) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user_id=int(user.pk), read_at__isnull=True).count()


def channel_preferences(*, user: AnyUser) -> list[tuple[str, str, bool, bool]]:
    """(kind, label, in_app, email) for every kind, defaults filled in."""
    saved = {p.kind: p for p in ChannelPreference.objects.filter(user_id=int(user.pk or 0))}
    rows = []
    for kind, label in Kind.choices:
        pref = saved.get(kind)
        rows.append((kind, str(label), pref.in_app if pref else ChannelPreference.DEFAULT_IN_APP,
                     pref.email if pref else ChannelPreference.DEFAULT_EMAIL))
    return rows
