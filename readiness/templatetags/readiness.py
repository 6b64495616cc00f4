from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    """``{{ row.dimensions|get:name }}``: a dict lookup by a variable key."""
    return (mapping or {}).get(key)


@register.filter
def percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as the largest sensible unit: 42 s, 12 min, 5.5 h, 3.2 d."""
    if seconds is None:
        return "-"
    for limit, unit, size in ((120, "s", 1), (7200, "min", 60), (172800, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.0f} {unit}" if unit != "h" else f"{seconds / size:.1f} {unit}"
    return f"{seconds / 86400:.1f} d"


@register.filter
def local_time(iso: str | None) -> str:
    """An ISO time stored in a snapshot, shown in the local time zone (YYYY-MM-DD HH:MM)."""
    if not iso:
        return "-"
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return "-"
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if timezone.is_aware(moment) else iso
