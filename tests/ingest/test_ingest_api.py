"""The ingest endpoint: authentication, validation, exactly-once storage, clear errors."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from elasticsearch import Elasticsearch

from collectors.services import collector_revoke
from organisations.actors import Actor
from tests.conftest import EnrolledCollector

URL = "/api/v1/ingest/events"
SSHD = "Nov 28 08:15:02 hni-web-01 sshd[811]: Failed password for root from 203.0.113.9 port 50022 ssh2"

pytestmark = pytest.mark.django_db


def post(client: Client, body: Any, collector: EnrolledCollector | None, **extra: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers: dict[str, Any] = collector.auth if collector else {}
    return client.post(URL, data=data, content_type="application/json", **headers, **extra)


def stored(es: Elasticsearch, kind: str = "events") -> list[dict[str, Any]]:
    es.indices.refresh(index=f"{settings.ES_INDEX_PREFIX}{kind}-*", allow_no_indices=True)
    resp = es.search(index=f"{settings.ES_INDEX_PREFIX}{kind}-*", size=100, allow_no_indices=True,
                     ignore_unavailable=True)
    return [hit | {"doc": hit["_source"]} for hit in resp["hits"]["hits"]]


def test_it_stores_a_raw_sshd_line_as_ecs_with_the_collectors_province(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    resp = post(client, {"events": [{"id": "f1:0", "raw": SSHD}]}, hni_collector)

    assert resp.status_code == 200
    assert resp.json() == {"results": [{"id": "f1:0", "status": "created"}]}
    [hit] = stored(es)
    doc = hit["doc"]
    assert hit["_id"] == f"{hni_collector.collector.uid}:f1:0"
    assert doc["organization"]["id"] == "HNI"
    assert doc["source"]["ip"] == "203.0.113.9"
    assert doc["user"]["name"] == "root"
    assert doc["event"]["outcome"] == "failure"
    assert doc["event"]["original"] == SSHD
    assert doc["@timestamp"] == f"{doc['@timestamp'][:4]}-11-28T01:15:02.000Z"  # Asia/Ho_Chi_Minh is UTC+7
    assert doc["agent"]["id"] == str(hni_collector.collector.uid)


def test_a_resend_is_a_duplicate_not_a_second_event(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    batch = {"events": [{"id": "f1:0", "raw": SSHD}, {"id": "f1:120", "raw": SSHD}]}
    post(client, batch, hni_collector)
    resp = post(client, batch, hni_collector)

    assert [r["status"] for r in resp.json()["results"]] == ["duplicate", "duplicate"]
    assert len(stored(es)) == 2


def test_it_accepts_gzip_bodies(client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    body = gzip.compress(json.dumps({"events": [{"id": "g:1", "raw": SSHD}]}).encode())
    resp = post(client, body, hni_collector, HTTP_CONTENT_ENCODING="gzip")

    assert resp.json()["results"][0]["status"] == "created"


def test_an_edge_parsed_document_is_stored_but_province_comes_from_the_credential(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    doc = {"@timestamp": "2026-11-28T01:00:00Z", "message": "x", "organization": {"id": "HCM"}}
    post(client, {"events": [{"id": "d:1", "doc": doc}]}, hni_collector)

    [hit] = stored(es)
    assert hit["doc"]["organization"]["id"] == "HNI"


def test_a_mapping_rejection_goes_to_dead_letter_and_the_rest_of_the_batch_arrives(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    bad = {"@timestamp": "2026-11-28T01:00:00Z", "source": {"ip": "not-an-ip"}}
    resp = post(client, {"events": [{"id": "ok:1", "raw": SSHD}, {"id": "bad:1", "doc": bad},
                                    {"id": "bad:2", "doc": {"message": "no timestamp"}}]}, hni_collector)

    statuses = {r["id"]: r for r in resp.json()["results"]}
    assert statuses["ok:1"]["status"] == "created"
    assert statuses["bad:1"]["status"] == "rejected" and "ip" in statuses["bad:1"]["error"]
    assert statuses["bad:2"]["status"] == "rejected" and "@timestamp" in statuses["bad:2"]["error"]
    assert len(stored(es)) == 1
    letters = {hit["_id"].split(":", 1)[1]: hit["doc"] for hit in stored(es, "deadletter")}
    assert set(letters) == {"bad:1", "bad:2"}
    assert "not-an-ip" in letters["bad:1"]["event"]["original"]


@pytest.mark.parametrize("stamp", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", "yesterday"])
def test_a_timestamp_that_is_no_utc_moment_is_rejected_on_its_own_and_kept(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector, stamp: str) -> None:
    # The first two are valid ISO 8601 but outside the calendar once moved to UTC: they once failed the whole
    # request with a 500, which the agent would have resent forever.
    resp = post(client, {"events": [{"id": "ok:1", "raw": SSHD},
                                    {"id": "edge:1", "doc": {"@timestamp": stamp, "message": "m"}}]}, hni_collector)

    assert resp.status_code == 200
    statuses = {r["id"]: r for r in resp.json()["results"]}
    assert statuses["ok:1"]["status"] == "created"
    assert statuses["edge:1"]["status"] == "rejected" and "@timestamp" in statuses["edge:1"]["error"]
    assert [hit["_id"].split(":", 1)[1] for hit in stored(es, "deadletter")] == ["edge:1"]


def test_an_id_that_is_not_text_is_rejected_on_its_own_item(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    resp = post(client, {"events": [{"id": ["a", "b"], "raw": SSHD}, {"id": {"x": 1}, "raw": SSHD},
                                    {"id": "ok:1", "raw": SSHD}]}, hni_collector)

    assert resp.status_code == 200
    assert [r["status"] for r in resp.json()["results"]] == ["rejected", "rejected", "created"]
    assert "id must be" in resp.json()["results"][0]["error"]
    assert len(stored(es)) == 1


@pytest.mark.parametrize("item_id", ["ok:1\n", "\nok:1", "ok 1", "", "x" * 201])
def test_an_id_outside_its_characters_is_rejected_even_with_a_final_newline(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector, item_id: str) -> None:
    resp = post(client, {"events": [{"id": item_id, "doc": {"message": "m"}}, {"id": "ok:2", "raw": SSHD}]},
                hni_collector)

    assert [r["status"] for r in resp.json()["results"]] == ["rejected", "created"]
    assert "id must be" in resp.json()["results"][0]["error"]
    assert [hit["_id"].split(":", 1)[1] for hit in stored(es)] == ["ok:2"]


@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "malformed_json"),
    (b"\xff\xfe\x00", "malformed_json"),
    (json.dumps({"events": "nope"}).encode(), "invalid_batch"),
    (json.dumps([1, 2]).encode(), "invalid_batch"),
    (json.dumps({"events": [{"id": "a", "raw": "x"}, {"id": "a", "raw": "y"}]}).encode(), "invalid_batch"),
])
def test_a_malformed_request_is_a_clear_400_and_writes_nothing(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector, body: bytes, code: str) -> None:
    resp = post(client, body, hni_collector)

    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code
    assert stored(es) == [] and stored(es, "deadletter") == []


def test_unknown_and_revoked_credentials_are_refused(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    assert post(client, {"events": []}, None).status_code == 401
    collector_revoke(collector=hni_collector.collector, actor=Actor.system())

    resp = post(client, {"events": [{"id": "r:1", "raw": SSHD}]}, hni_collector)

    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthenticated"
    assert stored(es) == []


def test_an_oversize_body_is_413_before_it_is_read(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector, settings: Any) -> None:
    settings.INGEST_MAX_BODY_BYTES = 1000
    big = {"events": [{"id": f"b:{i}", "raw": SSHD} for i in range(50)]}

    assert post(client, big, hni_collector).status_code == 413
    bomb = gzip.compress(b'{"events": [' + b" " * 100_000 + b"]}")
    resp = post(client, bomb, hni_collector, HTTP_CONTENT_ENCODING="gzip")
    assert resp.status_code == 413
    assert stored(es) == []


def test_only_post_is_allowed(client: Client, hni_collector: EnrolledCollector) -> None:
    headers: dict[str, Any] = hni_collector.auth
    assert client.get(URL, **headers).status_code == 405
