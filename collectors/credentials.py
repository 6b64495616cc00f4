"""The collector credential check of the ingest path, without a PostgreSQL round trip per request.

Every ingest batch and heartbeat carries the collector's secret. A web process keeps the collector it found for a
secret (by the secret's digest) for ``INGEST_CREDENTIAL_CACHE_SECONDS``, counted from the moment the lookup
*started*, so the bound holds for a revocation committed while a lookup was running:

- a revocation takes effect at once in the process that made it (``collector_revoke`` calls ``credential_forget``)
- and in every other web process within ``INGEST_CREDENTIAL_CACHE_SECONDS`` (default 10 s) of its commit.

What the cache hands out is also what the ingest writes from the credential (province, name): an organisation
renamed shows in new events within the same bound; its code never changes. Unknown and revoked secrets are not
kept: a newly enrolled collector is accepted at once, and a sender trying secrets cannot fill the memory.
"""

from __future__ import annotations

import time

from django.conf import settings

from collectors.models import Collector
from collectors.services import collector_authenticate, digest
from soc.aio import database

MAX_ENTRIES = 100_000  # far above a national fleet; past it, expired entries go (or all, if none has expired)

# digest of the secret -> (monotonic time until which it may be used, the collector with its organisation)
_found: dict[str, tuple[float, Collector]] = {}


def _now() -> float:
    return time.monotonic()


async def collector_authenticate_cached(*, secret: str) -> Collector | None:
    """``collector_authenticate``, answered from this process's memory while the entry is fresh."""
    if not secret or len(secret) > 200:
        return None
    key = digest(secret)
    started = _now()
    entry = _found.get(key)
    if entry is not None and entry[0] > started:
        return entry[1]
    collector = await database(collector_authenticate, secret=secret)
    if collector is None:
        _found.pop(key, None)
    elif settings.INGEST_CREDENTIAL_CACHE_SECONDS > 0:
        _make_room(started)
        _found[key] = (started + settings.INGEST_CREDENTIAL_CACHE_SECONDS, collector)
    return collector


def credential_forget(*, collector: Collector) -> None:
    """Drop a collector's entry from this process at once (its credential was revoked here)."""
    _found.pop(collector.secret_hash, None)


def _make_room(now: float) -> None:
    if len(_found) < MAX_ENTRIES:
        return
    for key in [key for key, (until, _) in _found.items() if until <= now]:
        del _found[key]
    if len(_found) >= MAX_ENTRIES:
        _found.clear()
