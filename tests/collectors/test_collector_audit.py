"""Collector changes leave an audit trail: who, from where, what before and after; refused changes leave none."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from collectors.services import collector_enroll
from organisations.models import AuditLog, Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast, EnrolledCollector

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.force_login(user)
    return client


def entries(action: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action).order_by("id"))


@pytest.fixture
def hni_admin(cast: Cast) -> Any:
    return user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni, role=Role.PROVINCIAL_ADMIN)


def test_creating_a_collector_is_audited_in_its_province(hni_collector: EnrolledCollector) -> None:
    [entry] = [e for e in entries("collector.created") if e.object_ref == str(hni_collector.collector.uid)]

    assert entry.organisation.code == "HNI" and entry.after["name"] == "HNI-WEB-01"
    assert entry.actor_name == "system" and entry.actor_id is None
    assert hni_collector.secret not in str(entry.after), "the credential is never written to the log"


def test_an_enrollment_token_and_the_enrollment_it_allows_are_audited(cast: Cast, hni_admin: Any) -> None:
    page = as_user(hni_admin).post("/collectors/enrollment-tokens", {"organisation": "HNI"}).content.decode()
    token = page.split("<code>", 1)[1].split("</code>", 1)[0]
    collector, _ = collector_enroll(token=token, name="HNI-NEW-01")

    [issued] = entries("collector.enrollment_token_created")
    assert (issued.actor_name, issued.ip, issued.organisation.code) == ("hni.admin", "198.51.100.7", "HNI")
    assert token not in str(issued.after)
    assert [e.object_ref for e in entries("collector.created")][-1] == str(collector.uid)


def test_revoking_a_collector_records_the_admin_and_their_address(
        hni_admin: Any, hni_collector: EnrolledCollector) -> None:
    as_user(hni_admin).post(f"/collectors/{hni_collector.collector.uid}/revoke")

    [entry] = entries("collector.revoked")
    assert (entry.actor_name, entry.ip, entry.object_ref) == ("hni.admin", "198.51.100.7",
                                                              str(hni_collector.collector.uid))
    assert entry.after["revoked_at"]


def test_a_configuration_change_keeps_the_values_before_and_after(
        cast: Cast, hni_collector: EnrolledCollector) -> None:
    url = f"/api/v1/collectors/{hni_collector.collector.uid}/config"

    resp = as_user(cast.lead).put(url, data={"config": {"batch_size": 250}}, content_type="application/json")

    assert resp.status_code == 200
    [entry] = entries("collector.configured")
    assert entry.actor_name == "lead" and entry.organisation.code == "HNI"
    assert entry.before == {"config": {}, "config_version": 0}
    assert entry.after == {"config": {"batch_size": 250}, "config_version": 1}


def test_refused_changes_leave_no_audit_entry(
        cast: Cast, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector) -> None:
    bad = as_user(cast.lead).put(f"/api/v1/collectors/{hni_collector.collector.uid}/config",
                                 data={"config": {"batch_size": 0}}, content_type="application/json")
    foreign = as_user(cast.hni_responder).post(f"/collectors/{hcm_collector.collector.uid}/revoke")

    assert (bad.status_code, foreign.status_code) == (400, 404)
    assert entries("collector.configured") == [] and entries("collector.revoked") == []
