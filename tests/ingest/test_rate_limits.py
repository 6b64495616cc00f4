"""Per-collector and per-province ingest rate limits (Redis token buckets): 429 with Retry-After."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings
from elasticsearch import Elasticsearch

from collectors.services import collector_create
from tests.conftest import Cast, EnrolledCollector

URL = "/api/v1/ingest/events"
SSHD = "Nov 28 08:15:02 hni-web-01 sshd[811]: Failed password for root from 203.0.113.9 port 50022 ssh2"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_buckets() -> Iterator[None]:
    r = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(r.scan_iter(f"{settings.NAMESPACE}:ingest-rate:*"))
    if keys:
        r.delete(*keys)
    yield


def send(client: Client, collector: EnrolledCollector, count: int, start: int = 0) -> Any:
    body = {"events": [{"id": f"r:{start + n}", "raw": SSHD} for n in range(count)]}
    headers: dict[str, Any] = collector.auth
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


@override_settings(INGEST_RATE_PER_COLLECTOR=2, INGEST_RATE_PER_PROVINCE=0, INGEST_RATE_BURST_SECONDS=5)
def test_a_collector_over_its_rate_gets_429_with_retry_after_and_nothing_is_stored(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    assert send(client, hni_collector, 10).status_code == 200

    resp = send(client, hni_collector, 5, start=10)

    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "rate_limited"
    assert int(resp["Retry-After"]) >= 1
    es.indices.refresh(index=f"{settings.ES_INDEX_PREFIX}events-*")
    assert es.count(index=f"{settings.ES_INDEX_PREFIX}events-*")["count"] == 10


@override_settings(INGEST_RATE_PER_COLLECTOR=0, INGEST_RATE_PER_PROVINCE=2, INGEST_RATE_BURST_SECONDS=5)
def test_a_noisy_province_is_limited_without_starving_another(
        client: Client, es: Elasticsearch, cast: Cast, hni_collector: EnrolledCollector,
        hcm_collector: EnrolledCollector) -> None:
    other, secret = collector_create(organisation=cast.hni, name="HNI-DB-01")
    second_hni = EnrolledCollector(other, secret)
    assert send(client, hni_collector, 8).status_code == 200

    assert send(client, second_hni, 8).status_code == 429, "the province's bucket is shared by its collectors"
    assert send(client, hcm_collector, 8).status_code == 200, "another province has its own bucket"


@override_settings(INGEST_RATE_PER_COLLECTOR=1000, INGEST_RATE_PER_PROVINCE=1000, INGEST_RATE_BURST_SECONDS=1)
def test_within_the_rate_every_batch_is_admitted(client: Client, es: Elasticsearch,
                                                 hni_collector: EnrolledCollector) -> None:
    statuses = [send(client, hni_collector, 100, start=100 * n).status_code for n in range(5)]

    assert statuses == [200] * 5
