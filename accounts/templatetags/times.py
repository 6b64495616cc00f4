"""``{{ moment|when }}`` (``|when:"seconds"``): a time as a person reads it, in their zone with the zone shown,
inside ``<time datetime="…Z">`` so scripts and machines still get UTC.

``{% time_zone_label %}`` and ``{% time_zone_short %}`` name the reader's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import get_current_timezone_name

from accounts.times import local_stamp, utc_stamps_localised, zone_label

register = template.Library()


@register.filter
def when(value: Any, precision: str = "") -> SafeString | str:
    """Anything but an aware datetime (None, a date) is left as it is, so ``|default:"—"`` still applies."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return value if value is not None else ""
    machine = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return format_html('<time datetime="{}">{}</time>', machine,
                       local_stamp(value, seconds=precision == "seconds"))


@register.filter
def utc_stamps_local(text: str) -> str:
    """Older stored texts (detection descriptions) carry UTC stamps: show them in the reader's zone."""
    return utc_stamps_localised(str(text or ""))


@register.simple_tag
def time_zone_label() -> str:
    """The reader's zone in full, for the header: ``Asia/Ho_Chi_Minh (+07)``."""
    return f"{get_current_timezone_name()} ({zone_label()})"


@register.simple_tag
def time_zone_short() -> str:
    """Beside a time a person types (search ranges): ``+07``."""
    return zone_label()
