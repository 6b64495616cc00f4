"""GET /healthz names the component that is down."""

from __future__ import annotations

import pytest
from django.test import Client

from soc import health


@pytest.mark.django_db
def test_it_reports_each_component_and_names_the_one_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_worker() -> None:
        raise RuntimeError("no worker answered")

    # The database, Elasticsearch and Redis checks run for real; no worker runs in this test.
    monkeypatch.setitem(health.CHECKS, "celery", no_worker)
    resp = client.get("/healthz")

    assert resp.status_code == 503
    body = resp.json()
    assert body["down"] == ["celery"]
    assert {name: c["status"] for name, c in body["components"].items()} == {
        "database": "up", "elasticsearch": "up", "redis": "up", "celery": "down"}


@pytest.mark.django_db
def test_a_stopped_elasticsearch_is_named(client: Client, settings: pytest.FixtureRequest,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from elasticsearch import Elasticsearch

    monkeypatch.setattr(health.es, "client", lambda: Elasticsearch("http://127.0.0.1:9", max_retries=0))
    resp = client.get("/healthz")

    assert resp.status_code == 503 and "elasticsearch" in resp.json()["down"]
