"""GET /healthz: is every component this process depends on answering?

Anyone may ask (load balancers, uptime probes) and learns the overall status only. Which component is down, and
its error text (host names, addresses, versions), is for staff signed in to the console and for monitoring that
presents the operators' token (SOC_HEALTHZ_TOKEN) as ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from redis import Redis

from detection.selectors import detection_health
from soc import es
from soc.celery import app as celery_app


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _elasticsearch() -> None:
    health = es.client().options(request_timeout=3).cluster.health()
    if health["status"] == "red":
        raise RuntimeError("cluster status red")


def _redis() -> None:
    Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()


def _celery() -> None:
    replies = celery_app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no worker answered")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "elasticsearch": _elasticsearch,
    "redis": _redis,
    "celery": _celery,
}


def healthz(request: HttpRequest) -> JsonResponse:
    components = _check_all()
    down = [name for name, state in components.items() if state["status"] != "up"]
    status = 503 if down else 200
    if not _may_see_details(request):
        return JsonResponse({"status": "down" if down else "up"}, status=status)
    return JsonResponse({"status": "down" if down else "up", "down": down, "components": components,
                         "detection": _detection()}, status=status)


def _detection() -> dict[str, Any]:
    """Rules that keep failing do not make the platform down, but operators see which (and timeouts) here."""
    try:
        return detection_health()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _check_all() -> dict[str, dict[str, str]]:
    components: dict[str, dict[str, str]] = {}
    for name, check in CHECKS.items():
        try:
            check()
            components[name] = {"status": "up"}
        except Exception as exc:
            components[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return components


def _may_see_details(request: HttpRequest) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.SOC_HEALTHZ_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())
