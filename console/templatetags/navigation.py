"""``{% main_menu as menu %}``: the signed-in user's menu, grouped by job (console/navigation.py); ``{% page_url
"name" %}``: the URL of a page that takes no arguments, reversed once per process (``page_url``)."""

from __future__ import annotations

from typing import Any

from django import template

from console.navigation import Section, menu_for, page_url

register = template.Library()


@register.simple_tag(takes_context=True)
def main_menu(context: dict[str, Any]) -> list[Section]:
    request = context.get("request")
    return menu_for(request) if request is not None and request.user.is_authenticated else []


@register.simple_tag(name="page_url")
def page_url_tag(name: str) -> str:
    return page_url(name)
