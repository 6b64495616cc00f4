"""What async views wait on: clients bound to an event loop (Elasticsearch, Redis), and the database.

Clients: one per loop, made on first use.

An async client's connections belong to the loop that opened them, so a client is kept per running loop: under
uvicorn that is one per worker process for its lifetime; where a loop lives for one call (``async_to_sync`` in
Django's test client or a management command) it is one per call. Either way the client is closed when its loop
shuts down: ``asyncio.run`` (which uvicorn and ``async_to_sync`` use) cancels the tasks still pending before it
closes the loop, and a keeper task waiting for that cancellation closes the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

T = TypeVar("T")
P = ParamSpec("P")

# (id of the loop, name) -> (the loop, the client). The loop is kept to tell a reused id from its owner.
_clients: dict[tuple[int, str], tuple[asyncio.AbstractEventLoop, Any]] = {}
_keepers: set[asyncio.Task[None]] = set()


def loop_client(name: str, create: Callable[[], T], close: Callable[[T], Awaitable[Any]]) -> T:
    """The client called ``name`` of the running loop, made by ``create`` the first time it is asked for."""
    loop = asyncio.get_running_loop()
    key = (id(loop), name)
    found = _clients.get(key)
    if found is not None and found[0] is loop:
        return found[1]
    client = create()
    _clients[key] = (loop, client)
    keeper = loop.create_task(_close_with_loop(key, client, close))
    _keepers.add(keeper)
    keeper.add_done_callback(_keepers.discard)
    return client


async def _close_with_loop(key: tuple[int, str], client: T, close: Callable[[T], Awaitable[Any]]) -> None:
    try:
        await asyncio.Event().wait()  # until the loop's shutdown cancels it
    finally:
        _clients.pop(key, None)
        await close(client)


async def database(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a short ORM call (a few milliseconds at most) for an async view.

    Django's ``sync_to_async`` would run it in the request's own thread, which opens a PostgreSQL connection for
    each request (``CONN_MAX_AGE=0``, as ASGI needs without a pool): at hundreds of collector requests a second,
    opening connections cost more CPU than the queries. With ``ASYNC_DB_THREADS`` > 0 the call runs in one of that
    many threads of this process, each keeping its connection. 0: Django's way, which the tests use (their data
    lives in a transaction of the test's own connection); outside a request's thread (the collector endpoints send
    no request signals, ``collectors.asgi``) that is asgiref's one shared thread, which keeps its connection too.
    Either way a broken connection is replaced and the call made once more, so callers pass work that may run
    twice: reads, or writes of the same values. Without that, a kept connection that died with a PostgreSQL
    restart failed every later call (tests/chaos/test_service_restarts.py).
    """
    kept: Callable[P, T] = _on_kept_connection(func)
    threads = settings.ASYNC_DB_THREADS
    if threads <= 0:
        return await sync_to_async(kept)(*args, **kwargs)
    return await sync_to_async(kept, thread_sensitive=False, executor=_database_threads(threads))(*args, **kwargs)


@cache
def _database_threads(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="async-db")


def _on_kept_connection(func: Callable[P, T]) -> Callable[P, T]:
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except (OperationalError, InterfaceError):  # the server restarted or dropped it: a new connection
            if connection.in_atomic_block:  # the caller's transaction (the tests' mode): no new one can go on with it
                raise
            connection.close()
            return func(*args, **kwargs)

    return call
