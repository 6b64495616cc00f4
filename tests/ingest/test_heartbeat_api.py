"""The heartbeat endpoint: the agent's report is kept (bounded), the central configuration comes back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from collectors.models import Collector
from collectors.services import collector_configure, collector_revoke
from organisations.actors import Actor
from tests.conftest import EnrolledCollector

URL = "/api/v1/collectors/heartbeat"

pytestmark = pytest.mark.django_db

REPORT = {"version": "0.2.0", "hostname": "hni-web-01", "events_per_second": 12.5, "oldest_unsent_age": 3.2,
          "drops": 0, "errors": 1, "last_error": "<script>alert(1)</script>",
          "spool": {"depth": 40, "bytes": 9000, "limit": 1000000, "quarantined": 0},
          "inputs": [{"name": "auth", "type": "file", "files": 2}]}


def beat(client: Client, collector: EnrolledCollector, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers: dict[str, Any] = collector.auth
    return client.post(URL, data=data, content_type="application/json", **headers)


def test_a_heartbeat_is_stored_on_the_collector(client: Client, hni_collector: EnrolledCollector) -> None:
    resp = beat(client, hni_collector, REPORT)

    assert resp.status_code == 200
    collector = Collector.objects.get(pk=hni_collector.collector.pk)
    assert collector.last_heartbeat_at is not None
    assert collector.version == "0.2.0"
    assert collector.health["spool"] == {"depth": 40, "bytes": 9000, "limit": 1000000, "quarantined": 0}
    assert collector.health["events_per_second"] == 12.5
    assert collector.health["last_error"] == "<script>alert(1)</script>"  # kept as text; escaped when shown


def test_the_answer_carries_the_central_configuration(client: Client, hni_collector: EnrolledCollector) -> None:
    collector_configure(collector=hni_collector.collector, actor=Actor.system(), config={
        "batch_size": 200, "rate_limit": 50,
        "inputs": [{"type": "file", "name": "auth", "paths": ["/var/log/auth.log*"]}]})

    answer = beat(client, hni_collector, REPORT).json()

    assert answer["config"]["batch_size"] == 200
    assert answer["config"]["inputs"][0]["paths"] == ["/var/log/auth.log*"]
    assert answer["config_version"] == 1


def test_a_hostile_report_is_reduced_to_known_fields_of_known_types(
        client: Client, hni_collector: EnrolledCollector) -> None:
    hostile = {"drops": "lots", "spool": {"depth": "x", "bytes": 5}, "inputs": [{"name": "a" * 300}] * 400,
               "extra": {"deep": [[[[1]]]]}, "last_error": "e" * 100_000}

    assert beat(client, hni_collector, hostile).status_code == 200

    health = Collector.objects.get(pk=hni_collector.collector.pk).health
    assert health["drops"] == 0 and health["spool"] == {"bytes": 5}
    assert len(health["inputs"]) == 50 and len(health["inputs"][0]["name"]) == 255
    assert len(health["last_error"]) == 500 and "extra" not in health


def test_a_revoked_or_unknown_collector_is_refused(client: Client, hni_collector: EnrolledCollector) -> None:
    collector_revoke(collector=hni_collector.collector, actor=Actor.system())

    assert beat(client, hni_collector, REPORT).status_code == 401


@pytest.mark.parametrize("body", [b"[1]", b"{nope", b"x" * (300 * 1024)])
def test_a_malformed_heartbeat_is_a_clear_4xx(client: Client, hni_collector: EnrolledCollector, body: bytes) -> None:
    resp = beat(client, hni_collector, body)

    assert resp.status_code in (400, 413)
    assert resp.json()["error"]["code"] in ("invalid", "malformed_json", "too_large")
