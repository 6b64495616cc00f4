"""GET /healthz: anonymous callers get the status only; staff and the operators' token get each component."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from soc import health
from tests.conftest import Cast

SECRET_DETAIL = "connection refused by 10.20.30.40:6379 (internal)"


@pytest.fixture
def celery_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_worker() -> None:
        raise RuntimeError(SECRET_DETAIL)

    # The database, Elasticsearch and Redis checks run for real; no worker runs in this test.
    monkeypatch.setitem(health.CHECKS, "celery", no_worker)


@pytest.fixture
def celery_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(health.CHECKS, "celery", lambda: None)


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_user("ops", is_staff=True))
    return client


def test_it_reports_each_component_and_names_the_one_down_to_staff(staff: Client, celery_down: None) -> None:
    resp = staff.get("/healthz")

    assert resp.status_code == 503
    body = resp.json()
    assert body["down"] == ["celery"]
    assert {name: c["status"] for name, c in body["components"].items()} == {
        "database": "up", "elasticsearch": "up", "redis": "up", "celery": "down"}
    assert SECRET_DETAIL in body["components"]["celery"]["error"]


@pytest.mark.django_db
def test_an_anonymous_caller_gets_the_status_only(client: Client, celery_down: None) -> None:
    resp = client.get("/healthz")

    assert resp.status_code == 503
    assert resp.json() == {"status": "down"}
    assert "10.20.30.40" not in resp.content.decode()


@pytest.mark.django_db
def test_an_anonymous_caller_sees_up_when_all_is_up(client: Client, celery_up: None) -> None:
    resp = client.get("/healthz")

    assert resp.status_code == 200 and resp.json() == {"status": "up"}


def test_a_console_user_who_is_not_staff_gets_the_status_only(cast: Cast, celery_down: None) -> None:
    client = Client()
    client.force_login(cast.analyst)
    assert client.get("/healthz").json() == {"status": "down"}


@pytest.mark.django_db
def test_the_operators_token_shows_the_components(client: Client, celery_down: None, settings: pytest.FixtureRequest,
                                                  ) -> None:
    settings.SOC_HEALTHZ_TOKEN = "t" * 40  # type: ignore[attr-defined]
    shown = client.get("/healthz", HTTP_AUTHORIZATION="Bearer " + "t" * 40).json()
    assert shown["down"] == ["celery"]
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer wrong").json() == {"status": "down"}


@pytest.mark.django_db
def test_an_empty_token_setting_lets_no_token_through(client: Client, celery_down: None,
                                                      settings: pytest.FixtureRequest) -> None:
    settings.SOC_HEALTHZ_TOKEN = ""  # type: ignore[attr-defined]
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "down"}


def test_a_stopped_elasticsearch_is_named(staff: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from elasticsearch import Elasticsearch

    monkeypatch.setattr(health.es, "client", lambda: Elasticsearch("http://127.0.0.1:9", max_retries=0))
    resp = staff.get("/healthz")

    assert resp.status_code == 503 and "elasticsearch" in resp.json()["down"]
