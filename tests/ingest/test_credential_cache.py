"""The ingest path's credential check costs no PostgreSQL round trip while it is fresh, and a revocation still
holds within the stated bound (``INGEST_CREDENTIAL_CACHE_SECONDS``) in every web process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone

from collectors import credentials
from collectors.models import Collector
from collectors.services import collector_create, collector_revoke
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


def test_a_loops_clients_are_closed_with_it(clock: Clock, client: Client, hni_collector: EnrolledCollector) -> None:
    """Each test-client request runs the async view on a loop of its own; nothing of it may outlive the loop."""
    assert ship(client, hni_collector).status_code == 200

    assert aio._clients == {}
