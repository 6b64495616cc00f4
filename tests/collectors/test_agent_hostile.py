"""Hostile input through the real agent and web app: clear errors and counters, nothing else lost."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from elasticsearch import Elasticsearch

from tests.collectors.platform import Agent, Platform, all_hits, count, events_index, wait_count
from tests.conftest import EnrolledCollector

VALID = "Nov 28 08:15:02 hni-web-01 sshd[811]: Failed password for root from 203.0.113.9 port {n} ssh2"


def field_count(es: Elasticsearch) -> int:
    def walk(props: dict[str, Any]) -> int:
        return sum(1 + walk(p.get("properties", {})) + len(p.get("fields", {})) for p in props.values())
    mappings = es.indices.get_mapping(index=events_index())
    return max(walk(m["mappings"].get("properties", {})) for m in mappings.values())


def post(url: str, secret: str, body: bytes, **headers: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {secret}", "Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_hostile_lines_and_records_arrive_with_the_valid_ones_and_the_mapping_stays_bounded(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, web: Platform,
        tmp_path: Path) -> None:
    text, records = tmp_path / "auth.log", tmp_path / "eve.json"
    text.write_bytes(b"\n".join([
        VALID.format(n=1).encode(), b"<999>1 not really syslog", b"<13", b"\xff\xfe\xfd invalid utf-8",
        b"nul \x00 inside", b"A" * 1_000_000, VALID.format(n=2).encode(),
    ]) + b"\n")
    nested = "[" * 100_000 + "]" * 100_000
    wide = json.dumps({f"f{n}": n for n in range(10_000)})
    suricata = json.dumps({"timestamp": "2026-11-28T08:15:02.000+0700", "event_type": "alert",
                           "src_ip": "203.0.113.5", "dest_ip": "10.0.0.1", "proto": "TCP",
                           "alert": {"signature": "ET SCAN test", "signature_id": 1, "severity": 2}})
    records.write_text("\n".join([nested, wide, "{not json", suricata]) + "\n")
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"inputs": [
        {"type": "file", "name": "auth", "paths": [str(text)]},
        {"type": "file", "name": "eve", "paths": [str(records)], "format": "json"}]}))
    agent = Agent(web, tmp_path, hni_collector.secret, "--config", str(config))
    agent.start()
    try:
        wait_count(es, 11, timeout=60, why=agent.logs())
        originals = [h["_source"]["event"]["original"] for h in all_hits(es, ["event.original"])]
        assert VALID.format(n=1) in originals and VALID.format(n=2) in originals
        assert any("\ufffd" in o for o in originals) and any("\x00" in o for o in originals)
        assert max(len(o) for o in originals) <= 64 * 1024, "a 1 MB line is stored cut, not refused"
        assert field_count(es) < 2000 and "f9999" not in json.dumps(es.indices.get_mapping(index=events_index()).body)
        assert count(es, {"term": {"event.kind": "alert"}}) == 1, "the valid Suricata alert is parsed"
        assert agent.alive()
    finally:
        agent.stop()
    assert agent.status()["counters"]["read"] == 11


def test_oversize_and_bomb_bodies_are_refused_clearly_and_the_server_stays_up(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, web: Platform) -> None:
    url = f"{web.api}/ingest/events"
    big = json.dumps({"events": [{"id": "x:1", "raw": "A" * (settings.INGEST_MAX_BODY_BYTES + 10)}]}).encode()
    bomb = gzip.compress(b'{"events": [' + b" " * (settings.INGEST_MAX_BODY_BYTES * 2) + b"]}")

    assert post(url, hni_collector.secret, big)[0] == 413
    status, body = post(url, hni_collector.secret, bomb, **{"Content-Encoding": "gzip"})
    assert status == 413 and body["error"]["code"] == "too_large"

    ok = json.dumps({"events": [{"id": "ok:1", "raw": VALID.format(n=3)}]}).encode()
    assert post(url, hni_collector.secret, ok) == (200, {"results": [{"id": "ok:1", "status": "created"}]})


def test_ten_thousand_distinct_fields_in_one_document_are_refused_and_the_rest_is_stored(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, web: Platform) -> None:
    now = datetime.now(UTC).isoformat()
    doc = {"@timestamp": now, "message": "wide", **{f"x{n}": str(n) for n in range(10_000)}}
    ok = {"@timestamp": now, "message": "ordinary"}
    body = json.dumps({"events": [{"id": "wide:1", "doc": doc}, {"id": "ok:2", "doc": ok}]}).encode()

    status, answer = post(f"{web.api}/ingest/events", hni_collector.secret, body)

    assert status == 200
    assert answer["results"][0] == {"id": "wide:1", "status": "rejected",
                                    "error": f"more than {settings.INGEST_MAX_EVENT_FIELDS} fields in one event"}
    assert answer["results"][1] == {"id": "ok:2", "status": "created"}
    assert count(es) == 1
    es.indices.refresh(index=f"{settings.ES_INDEX_PREFIX}deadletter-*")
    assert es.count(index=f"{settings.ES_INDEX_PREFIX}deadletter-*")["count"] == 1


def test_many_wide_documents_cannot_block_the_index_or_explode_its_mapping(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, web: Platform) -> None:
    now = datetime.now(UTC).isoformat()
    wide = [{"id": f"w:{k}", "doc": {"@timestamp": now, **{f"k{k}_{n}": "v" for n in range(900)}}} for k in range(5)]
    body = json.dumps({"events": [*wide, {"id": "ok:9", "doc": {"@timestamp": now, "message": "ordinary"}}]})

    status, answer = post(f"{web.api}/ingest/events", hni_collector.secret, body.encode())

    assert status == 200 and {r["status"] for r in answer["results"]} == {"created"}
    assert count(es) == 6
    assert field_count(es) <= 2000
