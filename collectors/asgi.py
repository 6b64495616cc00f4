"""The collector endpoints (ingest, heartbeat) served by a Django handler of their own under ASGI.

Django's ASGI handler runs a request through ``MIDDLEWARE``, and the browser middleware there is sync: the chain
runs in a thread, which calls an async view back on the loop, and each request gets a thread of its own made
and joined for it (``ThreadSensitiveContext``). Measured with py-spy under 50 concurrent collectors, that thread
traffic was most of a worker's time and one worker answered ~50 small batches a second. The collector endpoints
need none of it: they are async views authenticated by the collector's credential, with no session, cookie,
CSRF (they are exempt), language, message or framing. ``with_collector_endpoints`` sends their paths to
``CollectorHandler``: Django's own request, URL resolution, views and error handling, behind only what applies
to every request, run on the loop because it does no I/O: the host check (``ALLOWED_HOSTS``) and
``SecurityMiddleware`` (HTTPS redirect, HSTS, nosniff). Everything else goes to the app it wraps. Their
database work runs in ``soc.aio.database``'s threads, so no request needs a thread of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from functools import cache
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.urls import ResolverMatch, resolve, reverse, set_script_prefix

COLLECTOR_ENDPOINTS = ("api-ingest-events", "api-collector-heartbeat")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@cache
def collector_paths() -> frozenset[str]:
    return frozenset(reverse(name) for name in COLLECTOR_ENDPOINTS)


@cache
def collector_matches() -> dict[str, ResolverMatch]:
    """Each collector path's match in the URLconf, resolved once (it holds nothing of a request)."""
    return {path: resolve(path) for path in collector_paths()}


class CollectorEdgeMiddleware:
    """What every request gets, without a thread: the host check and ``SecurityMiddleware``'s hooks."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self.security = SecurityMiddleware(get_response)  # only its hooks are called
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        request.get_host()  # DisallowedHost (a 400) for a host not in ALLOWED_HOSTS
        redirect = self.security.process_request(request)
        if redirect is not None:
            return redirect
        response = await self.get_response(request)
        return self.security.process_response(request, response)


class CollectorHandler(ASGIHandler):
    """Django's handler for the collector endpoints, less what each of their requests paid for and did not use
    (measured: a heartbeat cost ~550 us of web CPU with it, and 680 collectors send 136 a second):

    - Django's request signals: their receivers look after the request thread's database connection, the cache
      connections and the URLconf a request may set. These views have none of them: their database work runs in
      ``soc.aio.database``'s threads, which keep their own connections; the rate limit has its own Redis client.
      Sending the signals cost two trips to a thread a request (``request_started`` is sent with ``asend``, whose
      sync receivers run in a thread; ``response.close`` is called in one).
    - the task listening for a client going away, to cancel the view: a batch whose client went away is stored
      and answered all the same (the agent resends it and is answered "duplicate"), and the work it can cost is
      already bounded (body limit, rate limit charged before storing, the worker's batch slots).
    - resolving the path against the whole URLconf: only the two collector paths come here; their matches are
      resolved once.
    The responses are in-memory JSON: there is nothing to close.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = await self.run_get_response(request)
            await self.send_response(response, send)  # type: ignore[arg-type]
        finally:
            body_file.close()

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = collector_matches()[request.path_info]
        request.resolver_match = match
        return match

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        view = convert_exception_to_response(self._get_response_async)  # type: ignore[attr-defined]
        self._middleware_chain = convert_exception_to_response(CollectorEdgeMiddleware(view))  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        # Without ASGIHandler's ThreadSensitiveContext, which makes a thread per request: nothing here needs one.
        await self.handle(scope, receive, send)


def with_collector_endpoints(app: ASGIApp) -> ASGIApp:
    collectors = CollectorHandler()

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in collector_paths():
            await collectors(scope, receive, send)
        else:
            await app(scope, receive, send)

    return route
