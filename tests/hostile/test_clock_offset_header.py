"""The collector's clock offset header: applied when it is a real, plausible skew; never trusted beyond that."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from elasticsearch import Elasticsearch

from tests.conftest import EnrolledCollector

URL = "/api/v1/ingest/events"
# Yesterday (UTC): a live day (older events are back-fill, marked so in ``soc``).
_DAY = f"{datetime.now(UTC).date() - timedelta(days=1):%Y-%m-%d}"
WHEN = f"{_DAY}T01:00:00.000Z"

pytestmark = pytest.mark.django_db


def ship(client: Client, es: Elasticsearch, collector: EnrolledCollector, offset: str | None,
         doc: dict[str, Any]) -> dict[str, Any]:
    """Ship one event with this offset header (None: without it); the document as stored."""
    headers: dict[str, Any] = {**collector.auth, **({"HTTP_X_SOC_CLOCK_OFFSET": offset} if offset is not None else {})}
    resp = client.post(URL, data=json.dumps({"events": [{"id": "f:1", "doc": doc}]}), content_type="application/json",
                       **headers)
    assert resp.status_code == 200 and resp.json()["results"][0]["status"] == "created"
    es.indices.refresh(index=f"{settings.ES_INDEX_PREFIX}events-*")
    [hit] = es.search(index=f"{settings.ES_INDEX_PREFIX}events-*", size=2)["hits"]["hits"]
    return dict(hit["_source"])


def test_a_ten_minute_offset_moves_the_event_to_central_time_and_says_so(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    doc = ship(client, es, hni_collector, "-600.000", {"@timestamp": WHEN, "message": "x"})
    assert doc["@timestamp"] == f"{_DAY}T00:50:00.000Z"
    assert doc["soc"]["clock_offset_seconds"] == -600.0


@pytest.mark.parametrize("offset", ["1.5", "nan", "inf", "-inf", "abc", "", "1e12", "604801"])
def test_noise_garbage_and_implausible_offsets_leave_the_time_alone(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector, offset: str) -> None:
    doc = ship(client, es, hni_collector, offset, {"@timestamp": WHEN, "message": "x"})
    assert doc["@timestamp"] == WHEN
    assert "soc" not in doc


def test_a_collector_cannot_claim_a_correction_it_did_not_get(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    doc = ship(client, es, hni_collector, None, {"@timestamp": WHEN, "soc": {"clock_offset_seconds": 3600}})
    assert doc["@timestamp"] == WHEN
    assert "soc" not in doc  # only the ingest writes it


def test_the_heartbeat_answer_carries_central_time_for_the_agent_to_measure_against(
        client: Client, hni_collector: EnrolledCollector) -> None:
    auth: dict[str, Any] = hni_collector.auth
    resp = client.post("/api/v1/collectors/heartbeat", data=json.dumps({"clock_offset_seconds": -600.0}),
                       content_type="application/json", **auth)
    assert abs(resp.json()["server_time"] - time.time()) < 5
    hni_collector.collector.refresh_from_db()
    assert hni_collector.collector.health["clock_offset_seconds"] == -600.0
