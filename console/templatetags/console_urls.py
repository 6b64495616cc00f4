"""``{% first_url "a:b" "c:d" %}``: the first of these URL names that exists.

Lets console pages link to pages other apps may or may not have yet (e.g. an
incident intake form) without breaking when they are absent.
"""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag
def first_url(*names: str) -> str:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return "/"
