"""The console's collector API: health per collector, province scope, central configuration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from collectors.models import Collector
from organisations.models import Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast, EnrolledCollector

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_province_sees_only_its_own_collectors_and_central_sees_all(
        cast: Cast, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector) -> None:
    hni = as_user(cast.hni_responder).get("/api/v1/collectors/").json()["results"]
    central = as_user(cast.analyst).get("/api/v1/collectors/").json()["results"]

    assert [c["name"] for c in hni] == ["HNI-WEB-01"]
    assert sorted(c["name"] for c in central) == ["HCM-WEB-01", "HNI-WEB-01"]


@pytest.mark.parametrize("path", ["", "/config"])
def test_another_provinces_collector_is_a_404_like_a_missing_one(
        cast: Cast, hcm_collector: EnrolledCollector, path: str) -> None:
    client = as_user(cast.hni_responder)
    url = f"/api/v1/collectors/{hcm_collector.collector.uid}{path}"
    method = client.put if path else client.get

    assert method(url, data={"config": {}}, content_type="application/json").status_code == 404
    missing = f"/api/v1/collectors/00000000-0000-0000-0000-000000000000{path}"
    assert method(missing, data={"config": {}}, content_type="application/json").status_code == 404


def test_anonymous_users_are_refused(hni_collector: EnrolledCollector) -> None:
    assert Client().get("/api/v1/collectors/").status_code in (401, 403)


@pytest.mark.parametrize(("beat_ago", "events_ago", "report", "status"), [
    (5, 5, {}, "online"),
    (5, 5, {"oldest_unsent_age": 900}, "degraded"),
    (5, 5, {"drops": 3}, "degraded"),
    (600, 5, {}, "offline"),
    (5, 99_999, {}, "silent"),
])
def test_health_follows_heartbeat_events_and_the_report(
        cast: Cast, hni_collector: EnrolledCollector, beat_ago: int, events_ago: int, report: dict[str, Any],
        status: str) -> None:
    now = timezone.now()
    Collector.objects.filter(pk=hni_collector.collector.pk).update(
        last_heartbeat_at=now - timedelta(seconds=beat_ago), last_seen_at=now - timedelta(seconds=events_ago),
        health=report)

    [item] = as_user(cast.hni_responder).get("/api/v1/collectors/").json()["results"]

    assert item["status"] == status


def test_a_provincial_admin_sets_the_central_configuration(cast: Cast, hni_collector: EnrolledCollector) -> None:
    admin = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni,
                           role=Role.PROVINCIAL_ADMIN)
    config = {"batch_size": 100, "rate_limit": 500,
              "inputs": [{"type": "syslog", "name": "udp514", "protocol": "udp", "port": 514}]}

    resp = as_user(admin).put(f"/api/v1/collectors/{hni_collector.collector.uid}/config",
                              data={"config": config}, content_type="application/json")

    assert resp.status_code == 200, resp.content
    assert Collector.objects.get(pk=hni_collector.collector.pk).config == {**config, "rate_limit": 500.0}


def test_a_responder_may_not_configure_and_a_bad_configuration_is_refused_whole(
        cast: Cast, hni_collector: EnrolledCollector) -> None:
    url = f"/api/v1/collectors/{hni_collector.collector.uid}/config"
    ok = {"batch_size": 100}
    assert as_user(cast.hni_responder).put(url, data={"config": ok}, content_type="application/json"
                                           ).status_code == 403

    bad = {"batch_size": 100, "inputs": [{"type": "file", "name": "x", "paths": []}]}
    resp = as_user(cast.lead).put(url, data={"config": bad}, content_type="application/json")

    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_config"
    assert Collector.objects.get(pk=hni_collector.collector.pk).config == {}
