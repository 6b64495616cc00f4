"""Provincial intake into the central triage queue; SLA clocks per severity with provincial overrides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents.models import Incident, Severity, SlaPolicy, Status
from incidents.services.intake import incident_create
from incidents.services.sla import sla_policy_defaults_ensure
from incidents.sla import DEFAULT_TARGETS, due_after
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db

FORM = {"title": "Defaced portal", "description": "Home page replaced", "affected_systems": "portal.hni.gov.vn",
        "occurred_at": "2026-01-02T08:30", "contact": "Nguyễn Văn A, 0900 000 000", "category": "intrusions",
        "severity": "high", "province": "HNI"}


def test_a_province_files_an_incident_that_enters_the_central_triage_queue(cast: Cast,
                                                                           api: Callable[..., Api]) -> None:
    responder = api(cast.hni_responder)

    response = responder.client.post("/incidents/new/", FORM)

    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.key}/"
    assert (incident.status, incident.province, incident.reported_by) == (Status.NEW, cast.hni, cast.hni_responder)
    assert incident.affected_systems == "portal.hni.gov.vn" and incident.contact.startswith("Nguyễn")
    queue = api(cast.analyst).get("/api/v1/incidents/", status="new").json()["results"]
    assert [row["key"] for row in queue] == [incident.key]


def test_the_intake_form_offers_only_the_filers_province(cast: Cast, api: Callable[..., Api]) -> None:
    responder = api(cast.hni_responder)

    page = responder.client.get("/incidents/new/").content.decode()
    refused = responder.client.post("/incidents/new/", {**FORM, "province": "HCM"})

    assert 'value="HNI"' in page and 'value="HCM"' not in page
    assert refused.status_code == 200 and not Incident.objects.exists()


def test_the_api_refuses_intake_for_another_province_and_a_future_time(cast: Cast, api: Callable[..., Api]) -> None:
    responder = api(cast.hni_responder)
    body = {**FORM, "occurred_at": None}

    other = responder.post("/api/v1/incidents/", {**body, "province": "HCM"})
    future = responder.post("/api/v1/incidents/", {
        **body, "occurred_at": (timezone.now() + timedelta(days=1)).isoformat()})

    assert other.status_code == 400 and "province" in other.json()["error"]["details"]
    assert future.status_code == 400 and not Incident.objects.exists()


def test_due_times_follow_the_national_defaults(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="x", severity=Severity.CRITICAL)
    target = DEFAULT_TARGETS[Severity.CRITICAL]

    start = incident.last_seen_at
    assert start is not None
    assert incident.ack_due_at == start + timedelta(minutes=target.acknowledge_minutes)
    assert incident.contain_due_at == start + timedelta(minutes=target.contain_minutes)
    assert incident.resolve_due_at == start + timedelta(minutes=target.resolve_minutes)


def test_a_provincial_override_beats_the_national_policy(cast: Cast) -> None:
    SlaPolicy.objects.create(organisation=cast.national, severity=Severity.HIGH, acknowledge_minutes=60,
                             contain_minutes=600, resolve_minutes=6000)
    SlaPolicy.objects.create(organisation=cast.hni, severity=Severity.HIGH, acknowledge_minutes=10,
                             contain_minutes=100, resolve_minutes=1000)

    hni = incident_create(province=cast.hni, title="x", severity=Severity.HIGH)
    hcm = incident_create(province=cast.hcm, title="x", severity=Severity.HIGH)

    assert round((hni.ack_due_at - hni.last_seen_at).total_seconds() / 60) == 10  # type: ignore[operator]
    assert round((hcm.ack_due_at - hcm.last_seen_at).total_seconds() / 60) == 60  # type: ignore[operator]


def test_breaches_are_queryable_and_acknowledging_stops_that_clock(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    late, fine = make_incidents(2)
    Incident.objects.filter(pk=late.pk).update(ack_due_at=timezone.now() - timedelta(minutes=1))
    analyst = api(cast.analyst)

    breached = analyst.get("/api/v1/incidents/", sla_breached="true").json()["results"]
    not_breached = analyst.get("/api/v1/incidents/", sla_breached="false").json()["results"]

    assert [row["key"] for row in breached] == [late.key]
    assert [row["key"] for row in not_breached] == [fine.key]
    analyst.post(f"/api/v1/incidents/{fine.key}/status/", {"status": "triaged"})
    assert Incident.objects.get(pk=fine.pk).acknowledged_at is not None


def test_raising_the_severity_moves_the_due_times(cast: Cast, api: Callable[..., Api],
                                                  make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1, severity=Severity.LOW)[0]

    after = api(cast.analyst).patch(f"/api/v1/incidents/{incident.key}/", {"severity": "critical"}).json()

    assert incident.ack_due_at is not None
    assert datetime.fromisoformat(after["ack_due_at"]) < incident.ack_due_at


HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = (time(8, 0), time(17, 0))


@pytest.mark.parametrize("start, minutes, due", [
    (datetime(2026, 1, 2, 16, 0), 120, datetime(2026, 1, 5, 9, 0)),    # Friday 16:00 + 2 h → Monday 09:00
    (datetime(2026, 1, 3, 11, 0), 30, datetime(2026, 1, 5, 8, 30)),    # Saturday → Monday opening
    (datetime(2026, 1, 5, 6, 0), 60, datetime(2026, 1, 5, 9, 0)),      # before opening
    (datetime(2026, 1, 5, 9, 0), 3 * 540, datetime(2026, 1, 8, 9, 0)),  # three full working days
    (datetime(2026, 1, 5, 17, 30), 15, datetime(2026, 1, 6, 8, 15)),   # after closing
])
def test_business_hours_clocks_skip_nights_and_weekends(start: datetime, minutes: int, due: datetime) -> None:
    assert due_after(start.replace(tzinfo=HANOI), minutes, OFFICE) == due.replace(tzinfo=HANOI)


def test_a_policy_with_business_hours_sets_due_times_on_working_time(cast: Cast) -> None:
    SlaPolicy.objects.create(organisation=cast.hni, severity=Severity.LOW, acknowledge_minutes=60,
                             contain_minutes=600, resolve_minutes=6000, business_hours_only=True)

    incident = incident_create(province=cast.hni, title="x", severity=Severity.LOW)

    assert incident.ack_due_at is not None and incident.last_seen_at is not None
    due = timezone.localtime(incident.ack_due_at)
    assert due.weekday() < 5 and time(8, 0) <= due.time() <= time(17, 0)
    assert incident.ack_due_at >= incident.last_seen_at + timedelta(minutes=60)


def test_intake_can_carry_evidence_and_bad_evidence_files_nothing(cast: Cast, api: Callable[..., Api],
                                                                  media: Path) -> None:
    responder = api(cast.hni_responder).client

    bad = responder.post("/incidents/new/", {**FORM, "evidence": SimpleUploadedFile("x.exe", b"MZ")})
    good = responder.post("/incidents/new/", {**FORM, "evidence": SimpleUploadedFile("defaced.png", b"\x89PNG")})

    assert bad.status_code == 200 and good.status_code == 302
    incident = Incident.objects.get()
    assert [a.name for a in incident.attachments.all()] == ["defaced.png"]


def test_the_national_policy_rows_are_made_once_from_the_built_in_targets(cast: Cast) -> None:
    assert sla_policy_defaults_ensure(national=cast.national) == 4
    assert sla_policy_defaults_ensure(national=cast.national) == 0
    row = SlaPolicy.objects.get(organisation=cast.national, severity=Severity.CRITICAL)
    assert row.acknowledge_minutes == DEFAULT_TARGETS[Severity.CRITICAL].acknowledge_minutes
