"""The ingest path's credential check costs no PostgreSQL round trip while it is fresh, and a revocation still
holds within the stated bound (``INGEST_CREDENTIAL_CACHE_SECONDS``) in every web process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from collectors import credentials, services
from collectors.models import Collector
from collectors.services import collector_create, collector_revoke, digest
from organisations.actors import Actor
from soc import aio
from tests.conftest import Cast, EnrolledCollector

INGEST = "/api/v1/ingest/events"
HEARTBEAT = "/api/v1/collectors/heartbeat"

pytestmark = pytest.mark.django_db


class Clock:
    """Stands in for the cache's monotonic clock, so the bound is tested at its stated value without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(credentials, "_now", fake)
    credentials._found.clear()
    yield fake
    credentials._found.clear()


def ship(client: Client, collector: EnrolledCollector, item_id: str = "e1") -> Any:
    body = {"events": [{"id": item_id, "doc": {"@timestamp": timezone.now().isoformat(), "message": "hello"}}]}
    headers: dict[str, Any] = collector.auth
    return client.post(INGEST, data=json.dumps(body), content_type="application/json", **headers)


def revoke_elsewhere(collector: EnrolledCollector) -> None:
    """As another web process's revocation reaches this one: in the database only, this process's memory untouched."""
    Collector.objects.filter(pk=collector.collector.pk).update(revoked_at=timezone.now())


def authenticate(secret: str) -> Collector | None:
    return async_to_sync(credentials.collector_authenticate_cached)(secret=secret)


def authenticate_together(*secrets: str) -> list[Collector | BaseException | None]:
    """Concurrent requests of one event loop, as a web worker serves them; none may wait forever."""
    async def together() -> list[Collector | BaseException | None]:
        asking = (credentials.collector_authenticate_cached(secret=secret) for secret in secrets)
        return await asyncio.wait_for(asyncio.gather(*asking, return_exceptions=True), timeout=10)

    return async_to_sync(together)()


def enrolled(cast: Cast, count: int) -> list[str]:
    return [collector_create(organisation=cast.hni, name=f"c{n}")[1] for n in range(count)]


def cache_apart(clock: Clock, secrets: list[str], seconds: float = 1) -> None:
    for secret in secrets:
        assert authenticate(secret) is not None
        clock.now += seconds


Lookup = Callable[..., dict[str, Collector]]


def patch_lookup(monkeypatch: pytest.MonkeyPatch,
                 around: Callable[[Lookup, Collection[str]], dict[str, Collector]]) -> None:
    """``collector_authenticate_many`` through ``around``, as a slow, failing or racing database would run it."""
    real: Lookup = credentials.collector_authenticate_many
    monkeypatch.setattr(credentials, "collector_authenticate_many", lambda *, digests: around(real, digests))


def test_a_fresh_credential_is_checked_without_a_query(clock: Clock, hni_collector: EnrolledCollector,
                                                       django_assert_num_queries: Any) -> None:
    assert authenticate(hni_collector.secret) == hni_collector.collector
    with django_assert_num_queries(0):
        assert authenticate(hni_collector.secret) == hni_collector.collector


def test_a_credential_revoked_in_another_process_is_refused_within_the_bound(
        clock: Clock, client: Client, hni_collector: EnrolledCollector, settings: Any) -> None:
    assert ship(client, hni_collector, "a").status_code == 200
    revoke_elsewhere(hni_collector)

    clock.now += settings.INGEST_CREDENTIAL_CACHE_SECONDS - 0.01
    assert ship(client, hni_collector, "b").status_code == 200  # still trusted from memory: the bound is real
    clock.now += 0.01
    assert ship(client, hni_collector, "c").status_code == 401


def test_the_stated_bound_is_ten_seconds_at_most() -> None:
    from django.conf import settings

    assert 0 < settings.INGEST_CREDENTIAL_CACHE_SECONDS <= 10


def test_a_credential_revoked_in_this_process_is_refused_at_once(
        clock: Clock, client: Client, hni_collector: EnrolledCollector) -> None:
    assert ship(client, hni_collector, "a").status_code == 200

    collector_revoke(collector=Collector.objects.get(pk=hni_collector.collector.pk), actor=Actor.system())

    assert ship(client, hni_collector, "b").status_code == 401


def test_a_heartbeat_of_a_revoked_collector_is_refused_even_while_its_credential_is_cached(
        clock: Clock, client: Client, hni_collector: EnrolledCollector) -> None:
    beat = {"version": "1", "hostname": "h"}
    headers: dict[str, Any] = hni_collector.auth
    assert client.post(HEARTBEAT, data=beat, content_type="application/json", **headers).status_code == 200
    revoke_elsewhere(hni_collector)

    resp = client.post(HEARTBEAT, data=beat, content_type="application/json", **headers)

    assert resp.status_code == 401


def test_an_unknown_credential_is_not_remembered(clock: Clock, cast: Cast) -> None:
    assert authenticate("col_not-yet-enrolled") is None
    assert credentials._found == {}


def test_the_cache_keeps_each_province_its_own(clock: Clock, hni_collector: EnrolledCollector,
                                               hcm_collector: EnrolledCollector) -> None:
    def province(collector: EnrolledCollector) -> str:
        found = authenticate(collector.secret)
        assert found is not None
        return found.organisation.code

    assert province(hni_collector) == hni_collector.collector.organisation.code
    assert province(hcm_collector) == hcm_collector.collector.organisation.code
    assert province(hni_collector) == hni_collector.collector.organisation.code


def test_the_cache_is_bounded(clock: Clock, cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "MAX_ENTRIES", 3)
    secrets = [collector_create(organisation=cast.hni, name=f"c{n}")[1] for n in range(5)]

    for secret in secrets:
        assert authenticate(secret) is not None

    assert len(credentials._found) <= 3


def test_expired_entries_asked_at_once_are_renewed_by_one_query(clock: Clock, cast: Cast, settings: Any) -> None:
    secrets = enrolled(cast, 6)
    cache_apart(clock, secrets)
    clock.now += settings.INGEST_CREDENTIAL_CACHE_SECONDS  # every entry has expired

    with CaptureQueriesContext(connection) as queries:
        answers = authenticate_together(*secrets)

    assert len(queries) == 1
    assert [found.secret_hash if isinstance(found, Collector) else found for found in answers] == [
        digest(secret) for secret in secrets]


def test_expired_entries_asked_one_after_another_are_renewed_by_one_query(
        clock: Clock, cast: Cast, settings: Any, django_assert_num_queries: Any) -> None:
    secrets = enrolled(cast, 6)
    cache_apart(clock, secrets)
    clock.now += settings.INGEST_CREDENTIAL_CACHE_SECONDS

    with django_assert_num_queries(1):
        for secret in secrets:
            assert authenticate(secret) is not None


def test_a_process_soon_renews_all_its_collectors_with_one_query_a_bound(
        clock: Clock, cast: Cast, settings: Any) -> None:
    bound = settings.INGEST_CREDENTIAL_CACHE_SECONDS
    secrets = enrolled(cast, 5)
    cache_apart(clock, secrets, seconds=2)  # looked up alone, two seconds apart

    with CaptureQueriesContext(connection) as queries:
        for _ in range(4 * bound):  # every collector asks every second for four bounds
            clock.now += 1
            assert all(authenticate(secret) is not None for secret in secrets)

    assert len(queries) <= 5  # one a bound, one more while the entries line up (before: 5 collectors x 4 bounds)


def test_a_collector_revoked_elsewhere_is_dropped_when_another_collectors_expiry_renews_it(
        clock: Clock, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector, settings: Any) -> None:
    assert authenticate(hni_collector.secret) is not None
    clock.now += 1
    assert authenticate(hcm_collector.secret) is not None
    revoke_elsewhere(hcm_collector)
    clock.now += settings.INGEST_CREDENTIAL_CACHE_SECONDS - 1  # hni's entry expires; hcm's is older than half

    assert authenticate(hni_collector.secret) == hni_collector.collector

    assert authenticate(hcm_collector.secret) is None  # refused before its own entry would have expired


def test_an_entry_renewed_with_another_is_trusted_only_until_its_new_bound(
        clock: Clock, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector, settings: Any,
        django_assert_num_queries: Any) -> None:
    bound = settings.INGEST_CREDENTIAL_CACHE_SECONDS
    assert authenticate(hni_collector.secret) is not None
    clock.now += 1
    assert authenticate(hcm_collector.secret) is not None
    clock.now += bound - 1
    renewed = clock.now
    assert authenticate(hni_collector.secret) is not None  # renews hcm's entry too
    revoke_elsewhere(hcm_collector)

    clock.now = renewed + bound - 0.01
    with django_assert_num_queries(0):
        assert authenticate(hcm_collector.secret) == hcm_collector.collector  # the bound is real
    clock.now = renewed + bound
    assert authenticate(hcm_collector.secret) is None


def test_a_renewal_counts_the_bound_from_when_its_query_started(
        clock: Clock, hni_collector: EnrolledCollector, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bound = settings.INGEST_CREDENTIAL_CACHE_SECONDS
    assert authenticate(hni_collector.secret) is not None
    clock.now += bound
    started = clock.now

    def slow(real: Lookup, digests: Collection[str]) -> dict[str, Collector]:
        found = real(digests=digests)
        clock.now += 3
        return found

    patch_lookup(monkeypatch, slow)
    assert authenticate(hni_collector.secret) is not None
    revoke_elsewhere(hni_collector)

    clock.now = started + bound
    assert authenticate(hni_collector.secret) is None


def test_an_unknown_secret_is_not_kept_after_a_renewal(
        clock: Clock, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector, settings: Any) -> None:
    assert authenticate(hni_collector.secret) is not None
    clock.now += 1
    assert authenticate(hcm_collector.secret) is not None
    # hcm's secret replaced elsewhere: the one this process holds is now unknown
    Collector.objects.filter(pk=hcm_collector.collector.pk).update(secret_hash=digest("col_replaced"))
    clock.now += settings.INGEST_CREDENTIAL_CACHE_SECONDS - 0.5  # hni's entry has expired, hcm's not yet

    answers = authenticate_together(hni_collector.secret, "col_never-enrolled")

    assert answers == [hni_collector.collector, None]
    assert list(credentials._found) == [digest(hni_collector.secret)]
    assert authenticate(hcm_collector.secret) is None


def test_a_failed_renewal_fails_every_request_waiting_for_it_and_the_next_one_tries_again(
        clock: Clock, cast: Cast, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = enrolled(cast, 3)
    cache_apart(clock, secrets)
    clock.now += settings.INGEST_CREDENTIAL_CACHE_SECONDS

    def broken(real: Lookup, digests: Collection[str]) -> dict[str, Collector]:
        raise OperationalError("server closed the connection unexpectedly")

    working = credentials.collector_authenticate_many
    patch_lookup(monkeypatch, broken)
    answers = authenticate_together(*secrets)
    assert [type(answer) for answer in answers] == [OperationalError] * len(secrets)

    monkeypatch.setattr(credentials, "collector_authenticate_many", working)  # the database is back
    assert all(isinstance(answer, Collector) for answer in authenticate_together(*secrets))


def test_a_credential_revoked_here_while_a_renewal_runs_is_not_kept(
        clock: Clock, hni_collector: EnrolledCollector, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert authenticate(hni_collector.secret) is not None
    clock.now += settings.INGEST_CREDENTIAL_CACHE_SECONDS

    def racing(real: Lookup, digests: Collection[str]) -> dict[str, Collector]:
        found = real(digests=digests)  # read just before the revocation commits
        collector_revoke(collector=Collector.objects.get(pk=hni_collector.collector.pk), actor=Actor.system())
        return found

    patch_lookup(monkeypatch, racing)
    authenticate(hni_collector.secret)  # raced the revocation: answered either way, as a lookup alone would be

    assert authenticate(hni_collector.secret) is None


def test_the_renewal_statement_takes_a_bounded_number_of_digests(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "AUTHENTICATE_CHUNK", 2)
    secrets = enrolled(cast, 5)

    with CaptureQueriesContext(connection) as queries:
        found = credentials.collector_authenticate_many(digests=[digest(secret) for secret in secrets] + ["0" * 64])
        provinces = {collector.organisation.code for collector in found.values()}  # loaded with them

    assert sorted(found) == sorted(digest(secret) for secret in secrets)
    assert provinces == {cast.hni.code}
    assert len(queries) == 3


def test_a_loops_clients_are_closed_with_it(clock: Clock, client: Client, hni_collector: EnrolledCollector) -> None:
    """Each test-client request runs the async view on a loop of its own; nothing of it may outlive the loop."""
    assert ship(client, hni_collector).status_code == 200

    assert aio._clients == {}
