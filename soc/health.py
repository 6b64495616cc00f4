"""GET /healthz: is every component this process depends on answering?"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from redis import Redis

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
    from django.conf import settings

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
    components: dict[str, dict[str, str]] = {}
    for name, check in CHECKS.items():
        try:
            check()
            components[name] = {"status": "up"}
        except Exception as exc:
            components[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    down = [name for name, state in components.items() if state["status"] != "up"]
    body = {"status": "down" if down else "up", "down": down, "components": components}
    return JsonResponse(body, status=503 if down else 200)
