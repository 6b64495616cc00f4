"""Under ASGI the collector endpoints have a Django handler of their own (collectors.asgi): the same answers
as through the whole middleware chain, the host still checked, every other path left to the app it wraps."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone

from collectors.asgi import with_collector_endpoints
from tests.conftest import EnrolledCollector

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_the_tests_connection() -> Iterator[None]:
    """As Django's test client does: the request signals must not close the connection the test's data is in."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


class Fallback:
    """Stands in for Django's own handler: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(path, content=body, headers=headers)

    return async_to_sync(call)()


def batch() -> bytes:
    return gzip.compress(json.dumps({"events": [
        {"id": "a1", "doc": {"@timestamp": timezone.now().isoformat(), "message": "ok"}},
        {"id": "a2", "doc": {"@timestamp": "not a date"}}]}).encode())


def test_a_batch_gets_its_per_event_answers(hni_collector: EnrolledCollector) -> None:
    app = with_collector_endpoints(Fallback())

    resp = post(app, "/api/v1/ingest/events", batch(), {"Authorization": f"Bearer {hni_collector.secret}",
                                                         "Content-Encoding": "gzip"})

    assert resp.status_code == 200
    assert [r["status"] for r in resp.json()["results"]] == ["created", "rejected"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware's headers still apply


def test_a_heartbeat_gets_the_central_configuration(hni_collector: EnrolledCollector) -> None:
    app = with_collector_endpoints(Fallback())

    resp = post(app, "/api/v1/collectors/heartbeat", json.dumps({"version": "1"}).encode(),
                {"Authorization": f"Bearer {hni_collector.secret}", "Content-Type": "application/json"})

    assert resp.status_code == 200
    assert resp.json()["collector_id"] == str(hni_collector.collector.uid)


def test_it_refuses_an_unknown_credential_and_a_foreign_host(hni_collector: EnrolledCollector) -> None:
    app = with_collector_endpoints(Fallback())

    unknown = post(app, "/api/v1/ingest/events", batch(), {"Authorization": "Bearer col_nobody"})
    foreign = post(app, "/api/v1/ingest/events", batch(), {"Authorization": f"Bearer {hni_collector.secret}",
                                                           "Host": "evil.example"})

    assert unknown.status_code == 401
    assert foreign.status_code == 400


def test_every_other_path_goes_to_the_app_it_wraps() -> None:
    fallback = Fallback()
    app = with_collector_endpoints(fallback)

    assert post(app, "/api/v1/collectors/enroll", b"{}", {}).status_code == 204
    assert post(app, "/incidents/", b"", {}).status_code == 204
    assert fallback.paths == ["/api/v1/collectors/enroll", "/incidents/"]


def test_the_collector_requests_cost_no_request_signals(hni_collector: EnrolledCollector) -> None:
    """Their receivers run in a thread (two trips a request) and look after what these views do not use."""
    sent: list[str] = []

    def started(**_: Any) -> None:
        sent.append("started")

    def finished(**_: Any) -> None:
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        app = with_collector_endpoints(Fallback())
        beat = post(app, "/api/v1/collectors/heartbeat", json.dumps({"version": "1"}).encode(),
                    {"Authorization": f"Bearer {hni_collector.secret}", "Content-Type": "application/json"})
        ingest = post(app, "/api/v1/ingest/events", batch(), {"Authorization": f"Bearer {hni_collector.secret}",
                                                               "Content-Encoding": "gzip"})
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert (beat.status_code, ingest.status_code) == (200, 200)
    assert sent == []
