from __future__ import annotations

from django.http import HttpRequest

from notifications.selectors import unread_count


def unread(request: HttpRequest) -> dict[str, int]:
    """The unread badge in the navigation bar."""
    user = getattr(request, "user", None)
    return {"unread_notifications": unread_count(user=user) if user is not None else 0}
