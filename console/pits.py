"""The points in time the console keeps open between page requests, at most a few per user.

Event search pages with ``search_after`` over a point in time, so that "older events" neither repeats nor skips
events that arrived meanwhile; the point in time must then outlive the request. Each one holds the indices'
segments on the Elasticsearch nodes (and counts against ``search.max_open_pit_context``), so it is bounded three
ways: a search whose results fit on one page closes its point in time at once, the last page closes it too, and a
user keeps at most SOC_SEARCH_PITS_PER_USER of them (opening another closes the oldest). Whatever is left
(a tab closed midway) expires after ``soc.es.PIT_KEEP_ALIVE``. The ids live in the cache, per user: a page
request may only continue a point in time this user was given.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from elasticsearch import ApiError, TransportError

from organisations.selectors import AnyUser
from soc import es

logger = logging.getLogger(__name__)

# As long as Elasticsearch keeps an unused point in time: after that the ids are worthless.
KEEP_SECONDS = 5 * 60


def pit_close(pit_id: str) -> None:
    """Close a point in time; called in ``finally`` blocks, so a failure is logged, not raised over the error being
    handled (the point in time then expires by itself)."""
    try:
        es.events_pit_close(pit_id)
    except (ApiError, TransportError) as exc:
        logger.warning("could not close a point in time (it expires in %s): %s", es.PIT_KEEP_ALIVE, exc)


def _key(user: AnyUser) -> str:
    return f"console:pits:{user.pk}"


def pit_is_kept(*, user: AnyUser, pit_id: str) -> bool:
    return pit_id in cache.get(_key(user), [])


def pit_keep(*, user: AnyUser, pit_id: str, replacing: str | None = None) -> None:
    """Remember ``pit_id`` (Elasticsearch may hand back a new id for ``replacing``) and close the oldest beyond
    the per-user bound. Not atomic: two requests of one user at the same moment may keep one more, which then
    expires on its own."""
    kept = [p for p in cache.get(_key(user), []) if p not in (pit_id, replacing)] + [pit_id]
    excess = max(len(kept) - settings.SOC_SEARCH_PITS_PER_USER, 0)
    for oldest in kept[:excess]:
        pit_close(oldest)
    cache.set(_key(user), kept[excess:], KEEP_SECONDS)


def pit_release(*, user: AnyUser, pit_id: str, replacing: str | None = None) -> None:
    """Close a point in time no page will read again, and forget it."""
    pit_close(pit_id)
    if replacing and replacing != pit_id:
        pit_close(replacing)
    kept = cache.get(_key(user), [])
    if pit_id in kept or replacing in kept:
        cache.set(_key(user), [p for p in kept if p not in (pit_id, replacing)], KEEP_SECONDS)
