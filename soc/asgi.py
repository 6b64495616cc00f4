"""ASGI entry point: one port for HTTP and WebSockets (``python -m soc.serve`` runs it under uvicorn).

- WebSockets go through Channels, origin-checked against ALLOWED_HOSTS (a page on another site cannot open a
  console socket with the user's cookies) and authenticated by the Django session.
- An ``async def`` view, anything under /api/v1/ingest/ and a chunked request body run on the event loop
  through Django's ASGI handler (``on_event_loop``).
- Every synchronous view (console, API) runs through Django's WSGI handler in a pool of
  ``SOC_WEB_THREADS`` threads. Django's ASGI handler would run them all on one thread per process
  (``sync_to_async(thread_sensitive=True)``), one request at a time, with a thread hop per sync-only
  middleware: measured 5-7 ms of CPU per page on top of the page's own (bench/page_cpu_bench.py). In the
  pool a request waiting for PostgreSQL or Elasticsearch lets the next one run.
"""

import gc
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soc.settings")
django_asgi_app = get_asgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from asgiref.sync import iscoroutinefunction  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from collectors.asgi import with_collector_endpoints  # noqa: E402
from soc.asgi_limits import ASGIApp, BodyLimitMiddleware, Receive, Scope, Send  # noqa: E402
from soc.routing import websocket_urlpatterns  # noqa: E402

# The collectors' door stays on the event loop whatever its views are: the ASGI handler reads a whole body
# (under MAX_REQUEST_BYTES, soc/asgi_limits.py) before the view, which is what ingest wants.
EVENT_LOOP_PREFIXES = ("/api/v1/ingest/",)


class SyncViewsInThreads:
    """HTTP to the WSGI handler in a thread pool, unless it belongs on the event loop (``on_event_loop``)."""

    def __init__(self, asgi: ASGIApp, wsgi: ASGIApp) -> None:
        self.asgi, self.wsgi = asgi, wsgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.asgi if on_event_loop(scope) else self.wsgi
        await app(scope, receive, send)


def on_event_loop(scope: Scope) -> bool:
    """Ingest, async views, and chunked bodies (read and size-checked whole before any view: an oversize one
    is answered 413 however the view would read it)."""
    if scope["path"].startswith(EVENT_LOOP_PREFIXES):
        return True
    if any(name == b"transfer-encoding" for name, _ in scope.get("headers", ())):
        return True
    return view_is_async(scope["path"])


def view_is_async(path: str) -> bool:
    try:
        return iscoroutinefunction(resolve(path).func)
    except Resolver404:
        return False


def warm_up() -> None:
    """Load the whole app now, in each worker as it starts, then take it out of garbage collection.

    Django imports the URLconf and every view lazily, on a worker's first request: measured at about 1.2 s
    of CPU, which the first ingest batch after every restart waited for (times four workers). What is
    loaded here lives as long as the process, so ``gc.freeze`` spares every later collection from walking
    it (~200,000 objects): a batch decodes into ~10,000 containers, which triggers the cyclic collector,
    and full collections had doubled the CPU of decoding a batch (measured 28 -> 13 us per event).

    The collector's thresholds stay Python's (700, 10, 10): raised to (50,000, 20, 20) they cut the ingest's CPU an
    event by ~7 % (a full collection ran every ~0.4 s of a worker's work at capacity, ~30 ms each), but the
    console's 32-client closed loop fell from 137 to 109 requests/s in the same run (``bench/users_bench.py``).
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    gc.collect()
    gc.freeze()


warm_up()

http: Any = SyncViewsInThreads(django_asgi_app, WSGIMiddleware(get_wsgi_application(),  # type: ignore[arg-type]
                                                                 workers=settings.WEB_THREADS))
application = ProtocolTypeRouter(
    {
        # The collector endpoints by a handler of their own (collectors.asgi), every other page as above.
        "http": BodyLimitMiddleware(with_collector_endpoints(http), settings.MAX_REQUEST_BYTES),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
