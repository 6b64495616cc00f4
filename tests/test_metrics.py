"""GET /metrics: only for the operators' token, and every figure read from the real services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from elasticsearch import Elasticsearch
from redis import Redis

from bench.metrics_client import Samples, parse
from detection.authoring import rule_create
from detection.models import DetectionRule, RuleRun
from detection.services import quiet_runs_count
from incidents.consumers import IncidentFeedConsumer
from organisations.actors import Actor
from soc import es as soc_es
from soc import live
from soc.celery import app as celery_app
from soc.metrics import CACHE_KEY, nearest_rank, run_outcome
from soc.queues import Queue
from tests.conftest import Cast, EnrolledCollector

TOKEN = "operators-metrics-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = 'evil"} 1\nsoc_forged{x="y'

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings: Any) -> str:
    settings.SOC_METRICS_TOKEN = TOKEN
    settings.SOC_METRICS_CACHE_SECONDS = 0
    return TOKEN


def scrape(client: Client) -> Samples:
    resp = client.get("/metrics", headers=AUTH)
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"].startswith("text/plain; version=")
    return parse(resp.content.decode())


def ingest(client: Client, collector: EnrolledCollector, count: int, *, age_s: float, **doc: Any) -> None:
    stamp = (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat().replace("+00:00", "Z")
    events = [{"id": f"m{age_s}:{n}", "doc": {"@timestamp": stamp, "message": "sshd login", **doc}}
              for n in range(count)]
    headers: dict[str, Any] = collector.auth
    resp = client.post("/api/v1/ingest/events", data=json.dumps({"events": events}), content_type="application/json",
                       **headers)
    assert resp.status_code == 200
    assert {r["status"] for r in resp.json()["results"]} == {"created"}


def refresh(es: Elasticsearch) -> None:
    es.indices.refresh(index=soc_es.events_pattern(), allow_no_indices=True, ignore_unavailable=True)


# --- who may scrape --------------------------------------------------------------------------------------------

def test_without_a_configured_token_the_endpoint_does_not_exist(client: Client, settings: Any) -> None:
    settings.SOC_METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_an_anonymous_caller_is_asked_for_the_token(client: Client, token: str) -> None:
    resp = client.get("/metrics")

    assert resp.status_code == 401
    assert resp["WWW-Authenticate"].startswith("Bearer")
    assert b"soc_" not in resp.content


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer"])
def test_a_wrong_token_is_refused(client: Client, token: str, header: str) -> None:
    assert client.get("/metrics", headers={"Authorization": header}).status_code == 401


def test_a_signed_in_staff_user_without_the_token_is_refused(client: Client, token: str, cast: Cast) -> None:
    cast.lead.is_staff = True
    cast.lead.save()
    client.force_login(cast.lead)

    assert client.get("/metrics").status_code == 401


def test_the_right_token_gets_every_family(
        client: Client, token: str, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    samples = scrape(client)

    names = {name for name, _ in samples.values}
    assert {"soc_ingest_events_per_second", "soc_collector_spool_events", "soc_celery_queue_length",
            "soc_detection_rule_runs", "soc_detection_rule_cycle_seconds", "soc_websocket_connections",
            "soc_metrics_source_up"} <= names
    assert samples.by_label("soc_metrics_source_up", "source") == {
        "elasticsearch": 1, "postgresql": 1, "postgresql_detection": 1, "redis_broker": 1, "redis": 1}


# --- ingest per province ---------------------------------------------------------------------------------------

def test_events_ingested_through_the_api_appear_per_province_with_their_lag(
        client: Client, token: str, es: Elasticsearch, hni_collector: EnrolledCollector,
        hcm_collector: EnrolledCollector) -> None:
    ingest(client, hni_collector, 30, age_s=4)
    ingest(client, hcm_collector, 6, age_s=20)
    refresh(es)

    samples = scrape(client)

    rates = samples.by_label("soc_ingest_events_per_second", "province")
    assert rates["HNI"] == pytest.approx(30 / 60)
    assert rates["HCM"] == pytest.approx(6 / 60)
    assert len(rates) == 35 and rates["DNG"] == 0  # every province (and the centre), idle ones at zero
    hni_lag = samples.by_label("soc_ingest_lag_seconds", "quantile", province="HNI")
    hcm_lag = samples.by_label("soc_ingest_lag_seconds", "quantile", province="HCM")
    assert 4 <= hni_lag["0.5"] <= hni_lag["0.95"] <= hni_lag["1"] < 15
    assert 20 <= hcm_lag["0.95"] < 35


def test_province_labels_are_codes_from_the_database_never_what_a_sender_wrote(
        client: Client, token: str, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    hni_collector.collector.name = HOSTILE
    hni_collector.collector.save()
    ingest(client, hni_collector, 3, age_s=1, organization={"id": HOSTILE}, agent={"name": HOSTILE})
    # A document no ingest would write (a compromised writer): its province is not a label.
    es.index(index=soc_es.index_name("events", timezone.now()), refresh=True, document={
        "@timestamp": timezone.now().isoformat(), "event": {"ingested": timezone.now().isoformat()},
        "organization": {"id": HOSTILE}})
    refresh(es)

    resp = client.get("/metrics", headers=AUTH)
    samples = parse(resp.content.decode())

    rates = samples.by_label("soc_ingest_events_per_second", "province")
    assert rates["HNI"] == pytest.approx(3 / 60)
    assert rates["unknown"] == pytest.approx(1 / 60)
    assert b"evil" not in resp.content and b"soc_forged" not in resp.content
    labels = {value for (_, pairs) in samples.values for key, value in pairs if key == "province"}
    assert labels <= {*rates, "unknown"} and all(v == "unknown" or v.isalnum() for v in labels)


# --- collectors, queues, detection, sockets --------------------------------------------------------------------

def test_a_heartbeats_spool_and_drops_appear_for_its_collector(
        client: Client, token: str, hni_collector: EnrolledCollector) -> None:
    report = {"version": "0.2.0", "drops": 7, "spool": {"depth": 40, "bytes": 9000, "limit": 1000000},
              "hostname": HOSTILE}
    headers: dict[str, Any] = hni_collector.auth
    resp = client.post("/api/v1/collectors/heartbeat", data=json.dumps(report), content_type="application/json",
                       **headers)
    assert resp.status_code == 200

    samples = scrape(client)

    labels = {"province": "HNI", "collector": str(hni_collector.collector.uid)}
    assert samples.value("soc_collector_spool_events", **labels) == 40
    assert samples.value("soc_collector_spool_bytes", **labels) == 9000
    assert samples.value("soc_collector_drops", **labels) == 7
    assert 0 <= (samples.value("soc_collector_heartbeat_age_seconds", **labels) or -1) < 30


@pytest.fixture
def broker() -> Any:
    redis = Redis.from_url(settings.CELERY_BROKER_URL)
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    keys = [f"{prefix}{Queue.REPORTS}{suffix}" for suffix in ("", "\x06\x163", "\x06\x166", "\x06\x169")]
    redis.delete(*keys)
    yield redis
    redis.delete(*keys)


def test_queued_celery_messages_show_in_their_queues_depth(client: Client, token: str, broker: Redis) -> None:
    before = scrape(client).by_label("soc_celery_queue_length", "queue")
    # No worker of this test namespace consumes them; one message at a priority kombu keeps in its own list.
    for priority in (0, 0, 6):
        celery_app.send_task("soc.metrics_test_never_run", queue=Queue.REPORTS.value, priority=priority)

    after = scrape(client).by_label("soc_celery_queue_length", "queue")

    assert set(after) == {queue.value for queue in Queue}
    assert after[Queue.REPORTS] - before[Queue.REPORTS] == 3


def test_rule_runs_give_cycle_time_errors_and_timeouts(client: Client, token: str, cast: Cast) -> None:
    rule = rule_create(actor=Actor.system(), data={
        "name": "metrics: brute force", "kind": "threshold", "interval_seconds": 5, "severity": "high",
        "params": {"query": "event.action:ssh_login", "group_by": ["source.ip"], "count": 5, "window_seconds": 300}})
    now = timezone.now()
    outcomes = ["", "", "search failed: boom", "search timed out after 10s; the window will be read again", ""]
    for n, error in enumerate(outcomes):
        started = now - timedelta(seconds=60 - 6 * n)
        RuleRun.objects.create(rule=rule, started_at=started, duration_ms=100 * (n + 1), range_start=started,
                               range_end=started, error=error, timed_out="timed out" in error, hits=1)
        RuleRun.objects.create(rule=rule, started_at=started + timedelta(seconds=1), range_start=started,
                               range_end=started, backfill_pass=True)
    # Its latest run was quiet (no row): 6 s after the one before, 1 s later than its interval, 0.7 s long.
    DetectionRule.objects.filter(pk=rule.pk).update(next_run_at=now - timedelta(seconds=30),
                                                    last_run_at=now - timedelta(seconds=10), last_duration_ms=700,
                                                    last_cycle_ms=6000)
    quiet_runs_count(runs=[RuleRun(rule=rule, duration_ms=700)] * 3, day=now.astimezone(UTC).date())

    samples = scrape(client)

    assert samples.by_label("soc_detection_rule_runs", "outcome") == {"ok": 8, "error": 1, "timeout": 1}
    assert samples.value("soc_detection_rule_quiet_runs_today") == 3
    assert samples.value("soc_detection_rule_cycle_seconds", quantile="0.5") == pytest.approx(6, abs=0.01)
    assert samples.value("soc_detection_rule_delay_seconds", quantile="1") == pytest.approx(1, abs=0.01)
    assert samples.value("soc_detection_rule_run_seconds", quantile="1") == pytest.approx(0.7)
    assert samples.value("soc_detection_rules_overdue") == 1


def test_a_rule_whose_latest_run_kept_a_row_is_not_counted_twice(client: Client, token: str, cast: Cast) -> None:
    rule = rule_create(actor=Actor.system(), data={
        "name": "metrics: one run", "kind": "threshold", "interval_seconds": 5, "severity": "high",
        "params": {"query": "event.action:ssh_login", "group_by": ["source.ip"], "count": 5, "window_seconds": 300}})
    started = timezone.now() - timedelta(seconds=5)
    RuleRun.objects.create(rule=rule, started_at=started, duration_ms=300, range_start=started, range_end=started,
                           error="search failed: boom")
    DetectionRule.objects.filter(pk=rule.pk).update(last_run_at=started, last_duration_ms=300)

    samples = scrape(client)

    assert samples.by_label("soc_detection_rule_runs", "outcome") == {"ok": 0, "error": 1, "timeout": 0}
    assert samples.value("soc_detection_rule_run_seconds", quantile="0.5") == pytest.approx(0.3)
    assert samples.value("soc_detection_rule_cycle_seconds", quantile="1") == 0


async def _open_and_scrape(cast: Cast, client: Client) -> tuple[float | None, float | None]:
    scope = {"type": "websocket", "path": "/ws/incidents/", "headers": [], "subprotocols": [], "user": cast.analyst}
    socket = ApplicationCommunicator(IncidentFeedConsumer.as_asgi(), scope)
    await socket.send_input({"type": "websocket.connect"})
    assert (await socket.receive_output(timeout=5))["type"] == "websocket.accept"
    from asgiref.sync import sync_to_async

    opened = (await sync_to_async(scrape)(client)).value("soc_websocket_connections")
    await socket.send_input({"type": "websocket.disconnect", "code": 1000})
    await socket.wait(timeout=5)
    closed = (await sync_to_async(scrape)(client)).value("soc_websocket_connections")
    return opened, closed


@pytest.mark.django_db(transaction=True)
def test_open_console_websockets_are_counted_and_counted_down(client: Client, token: str, cast: Cast) -> None:
    Redis.from_url(settings.REDIS_URL).delete(live.websocket_key())

    opened, closed = async_to_sync(_open_and_scrape)(cast, client)

    assert (opened, closed) == (1, 0)


# --- cost -------------------------------------------------------------------------------------------------------

def test_scrapes_within_the_cache_period_share_one_reading(
        client: Client, settings: Any, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    settings.SOC_METRICS_TOKEN, settings.SOC_METRICS_CACHE_SECONDS = TOKEN, 60
    cache.delete(CACHE_KEY)
    try:
        first = client.get("/metrics", headers=AUTH).content
        ingest(client, hni_collector, 5, age_s=1)
        refresh(es)
        second = client.get("/metrics", headers=AUTH).content
        cache.delete(CACHE_KEY)
        third = client.get("/metrics", headers=AUTH).content
    finally:
        cache.delete(CACHE_KEY)

    assert first == second
    assert parse(third.decode()).value("soc_ingest_events_per_second", province="HNI") == pytest.approx(5 / 60)


def test_helpers() -> None:
    assert nearest_rank([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert nearest_rank([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert [run_outcome(e) for e in ("", "search failed", "ConnectionTimeout caused by ...")] == \
        ["ok", "error", "timeout"]
