"""What the ingest works out once per batch (each distinct @timestamp, its daily index, the credential's
collector) must give every event exactly what working it out per event gave."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from elasticsearch import Elasticsearch

from collectors.agent.parsers.base import ECS_VERSION
from collectors.models import Collector
from collectors.services import collector_authenticate, collector_create
from organisations.models import Kind, Organisation
from tests.conftest import Cast, EnrolledCollector

URL = "/api/v1/ingest/events"
# Yesterday (UTC) and the day before: live days, each in its own daily index (older ones are back-fill).
_YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
DAY, EVE = f"{_YESTERDAY:%Y-%m-%d}", f"{_YESTERDAY - timedelta(days=1):%Y-%m-%d}"
DAY_I, EVE_I = DAY.replace("-", "."), EVE.replace("-", ".")

pytestmark = pytest.mark.django_db


def ship(client: Client, collector: EnrolledCollector, docs: dict[str, dict[str, Any]],
         offset: str | None = None) -> dict[str, str]:
    headers: dict[str, Any] = {**collector.auth, **({"HTTP_X_SOC_CLOCK_OFFSET": offset} if offset else {})}
    body = {"events": [{"id": item_id, "doc": doc} for item_id, doc in docs.items()]}
    resp = client.post(URL, data=json.dumps(body), content_type="application/json", **headers)
    assert resp.status_code == 200
    return {r["id"]: r["status"] for r in resp.json()["results"]}


def stored_by_id(es: Elasticsearch, collector: EnrolledCollector) -> dict[str, dict[str, Any]]:
    """Item id -> {"index": ..., "doc": ...} of every stored event."""
    es.indices.refresh(index=f"{settings.ES_INDEX_PREFIX}events-*")
    hits = es.search(index=f"{settings.ES_INDEX_PREFIX}events-*", size=100)["hits"]["hits"]
    prefix = f"{collector.collector.uid}:"
    return {hit["_id"].removeprefix(prefix): {"index": hit["_index"], "doc": hit["_source"]} for hit in hits}


def test_events_sharing_a_timestamp_in_a_skewed_batch_are_each_moved_and_each_say_so(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    same = f"{DAY}T01:00:00.000Z"
    docs: dict[str, dict[str, Any]] = {
        "a:1": {"@timestamp": same, "message": "1"}, "a:2": {"@timestamp": same, "message": "2"},
        "a:3": {"@timestamp": same, "soc": {"clock_offset_seconds": 9}}, "a:4": {"@timestamp": f"{DAY}T01:00:01Z"}}

    assert set(ship(client, hni_collector, docs, offset="-600").values()) == {"created"}

    stored = stored_by_id(es, hni_collector)
    assert {item_id: s["doc"]["@timestamp"] for item_id, s in stored.items()} == {
        "a:1": f"{DAY}T00:50:00.000Z", "a:2": f"{DAY}T00:50:00.000Z", "a:3": f"{DAY}T00:50:00.000Z",
        "a:4": f"{DAY}T00:50:01.000Z"}
    assert all(s["doc"]["soc"] == {"clock_offset_seconds": -600.0} for s in stored.values())


def test_each_event_goes_to_the_index_of_its_own_utc_day(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    docs = {"d:1": {"@timestamp": f"{EVE}T23:59:59.999Z"}, "d:2": {"@timestamp": f"{DAY}T00:00:00Z"},
            "d:3": {"@timestamp": f"{DAY}T06:00:00+07:00"},  # 23:00 UTC the day before
            "d:4": {"@timestamp": f"{DAY}T00:00:00"},  # no offset: UTC
            "d:5": {"@timestamp": f"{DAY}T00:00:00Z"}}

    assert set(ship(client, hni_collector, docs).values()) == {"created"}

    day = {item_id: s["index"].removeprefix(f"{settings.ES_INDEX_PREFIX}events-")
           for item_id, s in stored_by_id(es, hni_collector).items()}
    assert day == {"d:1": EVE_I, "d:2": DAY_I, "d:3": EVE_I, "d:4": DAY_I,
                   "d:5": DAY_I}


def test_a_correction_across_midnight_files_the_event_under_its_corrected_day(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    docs = {"m:1": {"@timestamp": f"{DAY}T00:05:00.000Z"}, "m:2": {"@timestamp": f"{DAY}T00:15:00.000Z"}}

    ship(client, hni_collector, docs, offset="-600")

    stored = stored_by_id(es, hni_collector)
    assert stored["m:1"]["doc"]["@timestamp"] == f"{EVE}T23:55:00.000Z"
    assert stored["m:1"]["index"] == f"{settings.ES_INDEX_PREFIX}events-{EVE_I}"
    assert stored["m:2"]["index"] == f"{settings.ES_INDEX_PREFIX}events-{DAY_I}"


def test_an_event_past_the_end_of_the_calendar_is_refused_as_future_and_the_rest_moved(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    docs = {"e:1": {"@timestamp": "9999-12-31T23:59:59.000Z"}, "e:2": {"@timestamp": f"{DAY}T01:00:00.000Z"}}

    assert ship(client, hni_collector, docs, offset="600") == {"e:1": "rejected", "e:2": "created"}

    stored = stored_by_id(es, hni_collector)
    assert set(stored) == {"e:2"}
    assert stored["e:2"]["doc"]["@timestamp"] == f"{DAY}T01:10:00.000Z"


def test_an_invalid_timestamp_is_refused_every_time_it_appears_in_a_batch(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    docs = {"t:1": {"@timestamp": "yesterday"}, "t:2": {"@timestamp": f"{DAY}T01:00:00Z"},
            "t:3": {"@timestamp": "yesterday"}}

    assert ship(client, hni_collector, docs) == {"t:1": "rejected", "t:2": "created", "t:3": "rejected"}


def test_every_event_carries_the_credentials_organisation_and_agent_whatever_it_claimed(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    claimed = {"organization": {"id": "HCM"}, "agent": {"id": "forged"}, "ecs": {"version": "1.0"}}
    docs = {f"o:{n}": {"@timestamp": f"{DAY}T01:00:00Z", **claimed} for n in range(3)}
    docs["o:9"] = {"@timestamp": f"{DAY}T01:00:00Z", "event": {"action": "x"}}

    ship(client, hni_collector, docs)

    stored = stored_by_id(es, hni_collector)
    collector = hni_collector.collector
    for item_id, s in stored.items():
        assert s["doc"]["organization"] == {"id": "HNI", "name": collector.organisation.name}
        assert s["doc"]["agent"] == {"id": str(collector.uid), "name": collector.name, "type": "soc-collector"}
        assert s["doc"]["event"]["ingested"].endswith("Z")
        assert s["doc"]["ecs"] == ({"version": ECS_VERSION} if item_id == "o:9" else {"version": "1.0"})
    assert stored["o:9"]["doc"]["event"]["action"] == "x"


def test_the_credential_gives_the_same_collector_and_organisation_as_the_orm_in_one_query(cast: Cast) -> None:
    collector, secret = collector_create(organisation=cast.hni, name="HNI-AUTH-01")
    Collector.objects.filter(pk=collector.pk).update(health={"drops": 3}, config={"batch_size": 50}, version="1.2")
    expected = Collector.objects.select_related("organisation").get(pk=collector.pk)

    with CaptureQueriesContext(connection) as queries:
        found = collector_authenticate(secret=secret)
        assert found is not None
        organisation = found.organisation
    assert len(queries) == 1
    for field in Collector._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.attname
    for field in Organisation._meta.concrete_fields:
        assert getattr(organisation, field.attname) == getattr(expected.organisation, field.attname), field.attname
    assert found.organisation.province == cast.hni
    assert not [name for name in vars(found) if name.startswith("org__")]


def test_a_site_collectors_credential_knows_its_province(cast: Cast) -> None:
    site = Organisation.objects.create(code="HNI-S1", name="Site 1", kind=Kind.SITE, parent=cast.hni)
    _, secret = collector_create(organisation=site, name="SITE-01")

    found = collector_authenticate(secret=secret)

    assert found is not None and found.organisation == site and found.organisation.province == cast.hni


def test_no_collector_for_an_unknown_empty_or_oversized_secret(hni_collector: EnrolledCollector) -> None:
    assert collector_authenticate(secret=hni_collector.secret) == hni_collector.collector
    assert collector_authenticate(secret=hni_collector.secret + "x") is None
    assert collector_authenticate(secret="") is None
    assert collector_authenticate(secret="a" * 201) is None
