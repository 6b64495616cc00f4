"""System checks that fail the build when the API could be opened to anyone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.urls import URLPattern, URLResolver, get_resolver

OPEN_PERMISSIONS = {"rest_framework.permissions.AllowAny"}
# Views that are meant to answer anonymous callers; anything else must authenticate.
# (The published readiness summary is public through its own read-only permission class, not AllowAny.)
PUBLIC_API_VIEWS = {"SpectacularAPIView"}


def _walk(patterns: Iterable[URLPattern | URLResolver]) -> Iterator[URLPattern]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns)
        else:
            yield entry


def _open_views() -> Iterator[str]:
    from rest_framework.permissions import AllowAny

    for pattern in _walk(get_resolver().url_patterns):
        view: Any = getattr(pattern.callback, "cls", None)
        if view is None or view.__name__ in PUBLIC_API_VIEWS:
            continue
        if any(perm is AllowAny for perm in getattr(view, "permission_classes", ())):
            yield f"{view.__module__}.{view.__name__}"


@register("security")
def drf_denies_by_default(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    drf: dict[str, Any] = settings.REST_FRAMEWORK
    configured = list(drf.get("DEFAULT_PERMISSION_CLASSES") or [])
    errors: list[CheckMessage] = []
    if not configured or OPEN_PERMISSIONS & set(configured):
        errors.append(Error("DRF's DEFAULT_PERMISSION_CLASSES lets anyone in", id="soc.E001",
                            hint="Use rest_framework.permissions.IsAuthenticated or stricter."))
    errors += [Error(f"{name} allows anonymous access (AllowAny)", id="soc.E002",
                     hint="Give it a real permission class, or list it in soc.checks.PUBLIC_API_VIEWS.")
               for name in _open_views()]
    return errors
