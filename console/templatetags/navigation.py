"""``{% main_menu as menu %}``: the signed-in user's menu, grouped by job (console/navigation.py)."""

from __future__ import annotations

from typing import Any

from django import template

from console.navigation import Section, menu_for

register = template.Library()


@register.simple_tag(takes_context=True)
def main_menu(context: dict[str, Any]) -> list[Section]:
    request = context.get("request")
    return menu_for(request) if request is not None and request.user.is_authenticated else []
