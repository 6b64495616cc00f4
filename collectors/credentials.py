"""The collector credential check of the ingest path, without a PostgreSQL round trip per request.

Every ingest batch and heartbeat carries the collector's secret. A web process keeps the collector it found for a
secret (by the secret's digest) for ``INGEST_CREDENTIAL_CACHE_SECONDS``, counted from the moment the lookup that
found it *started*, so the bound holds for a revocation committed while a lookup was running:

- a revocation takes effect at once in the process that made it (``collector_revoke`` calls ``credential_forget``)
- and in every other web process within ``INGEST_CREDENTIAL_CACHE_SECONDS`` (default 10 s) of its commit.

How entries are renewed: a secret never seen is looked up on its own (a newly enrolled collector is accepted at
once). A request whose entry has expired does not look it up alone: it waits for its event loop's one refresh,
which re-reads in one statement (``collector_authenticate_many``) the
digests waiting for it and every other entry older than half the bound; what the database no longer answers
(revoked, unknown) is dropped, the rest may be used until the refresh's start + the bound. Refreshing the older
half with each expiry lines the entries up, so a process soon renews all of its collectors with one query per
bound instead of one per collector (680 collectors: ~136 round trips a second for two workers before). A
refresh that fails fails every request waiting for it, as their own lookups would have.

What the cache hands out is also what the ingest writes from the credential (province, name): an organisation
renamed shows in new events within the same bound; its code never changes. Unknown and revoked secrets are not
kept: a sender trying secrets cannot fill the memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

from django.conf import settings

from collectors.models import Collector
from collectors.services import collector_authenticate, collector_authenticate_many, digest
from soc.aio import database, loop_client

MAX_ENTRIES = 100_000  # far above a national fleet; past it, expired entries go (or all, if none has expired)

# digest of the secret -> (monotonic time until which it may be used, the collector with its organisation)
_found: dict[str, tuple[float, Collector]] = {}
# Changed by every ``credential_forget`` (possibly in another thread): a lookup that saw it change while it ran
# keeps nothing, since it may have read a collector just before its revocation committed.
_forgets = 0


def _now() -> float:
    return time.monotonic()


async def collector_authenticate_cached(*, secret: str) -> Collector | None:
    """``collector_authenticate``, answered from this process's memory while the entry is fresh."""
    if not secret or len(secret) > 200:
        return None
    key = digest(secret)
    started = _now()
    entry = _found.get(key)
    if entry is None:
        forgets = _forgets
        collector = await database(collector_authenticate, secret=secret)
        _keep({key}, {key: collector} if collector is not None else {}, started, forgets)
        return collector
    if entry[0] > started:
        return entry[1]
    return await _refresher().collector(key)


def credential_forget(*, collector: Collector) -> None:
    """Drop a collector's entry from this process at once (its credential was revoked here)."""
    global _forgets
    _forgets += 1  # before the pop: see ``_keep``
    _found.pop(collector.secret_hash, None)


class _Refresher:
    """An event loop's refresh of expired entries: one in flight at most; the requests that arrive meanwhile wait
    for the next, which takes them all."""

    def __init__(self) -> None:
        self.waiting: set[str] = set()
        self.next: asyncio.Future[dict[str, Collector]] | None = None
        self.running: asyncio.Task[None] | None = None

    async def collector(self, key: str) -> Collector | None:
        self.waiting.add(key)
        if self.next is None:
            self.next = asyncio.get_running_loop().create_future()
        answer = self.next
        if self.running is None:
            self.running = asyncio.create_task(self._run())
        # Shielded: a request whose client went away does not cancel the others' refresh.
        return (await asyncio.shield(answer)).get(key)

    async def _run(self) -> None:
        try:
            while self.next is not None:
                answer, asked = self.next, self.waiting
                self.next, self.waiting = None, set()
                try:
                    answer.set_result(await _refresh(asked))
                except Exception as exc:  # each waiting request fails as its own lookup would have
                    answer.set_exception(exc)
                finally:
                    answer.cancel()  # nothing once answered; if this task is cancelled, no request waits forever
        finally:
            self.running = None
            if self.next is not None:
                self.next.cancel()
                self.next = None


def _refresher() -> _Refresher:
    return loop_client("collector-credentials", _Refresher, _nothing)


async def _nothing(_: object) -> None:
    return None


async def _refresh(asked: set[str]) -> dict[str, Collector]:
    """The collectors of the ``asked`` digests, re-read with every entry older than half the bound."""
    started = _now()
    fresh = {key: entry[1] for key in asked if (entry := _found.get(key)) is not None and entry[0] > started}
    if len(fresh) == len(asked):  # renewed by the refresh before, which these requests arrived too late to join
        return fresh
    cohort = asked | _older_than_half(started)
    forgets = _forgets
    found = await database(collector_authenticate_many, digests=cohort)
    _keep(cohort, found, started, forgets)
    return found


def _older_than_half(now: float) -> set[str]:
    # Half the bound: a refresh at an entry's expiry takes every entry it would otherwise meet again within the
    # bound, so the entries line up and renew together. A copy of the items: another thread may forget one.
    half = settings.INGEST_CREDENTIAL_CACHE_SECONDS / 2
    return {key for key, (until, _) in list(_found.items()) if until - now <= half}


def _keep(looked_up: Collection[str], found: dict[str, Collector], started: float, forgets: int) -> None:
    """Remember ``found`` (the answer of a lookup of ``looked_up`` that started at ``started``) until the bound."""
    bound = settings.INGEST_CREDENTIAL_CACHE_SECONDS
    if found and bound > 0:
        _make_room(started)
    for key in looked_up:
        if key in found and bound > 0:
            _found[key] = (started + bound, found[key])
        else:
            _found.pop(key, None)  # revoked or unknown: never kept
    # Checked after storing: a forget that ran before this check is undone here, one that runs after it pops what
    # was stored (it counts before it pops).
    if _forgets != forgets:
        for key in found:
            _found.pop(key, None)


def _make_room(now: float) -> None:
    if len(_found) < MAX_ENTRIES:
        return
    for key in [key for key, (until, _) in list(_found.items()) if until <= now]:
        _found.pop(key, None)
    if len(_found) >= MAX_ENTRIES:
        _found.clear()
