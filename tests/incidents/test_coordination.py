"""Requests for action: the centre asks, the province answers, overdue ones escalate; ownership hand-over."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from incidents.models import Incident, RequestForAction, RequestStatus
from incidents.tasks import escalate_overdue_requests
from soc.beat import beat_schedule
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db


def _send(analyst: Api, incident: Incident, hours: float = 4) -> dict[str, Any]:
    response = analyst.post(f"/api/v1/incidents/{incident.key}/requests/", {
        "instructions": "Isolate web01 and send the auth.log", "priority": "urgent",
        "due_at": (timezone.now() + timedelta(hours=hours)).isoformat()})
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_the_province_acknowledges_reports_progress_asks_for_help_and_finishes(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    sent = _send(api(cast.analyst), incident)
    responder = api(cast.hni_responder)
    path = f"/api/v1/requests/{sent['id']}/"

    steps = [responder.patch(path, {"status": status, "note": note}).json() for status, note in [
        ("acknowledged", ""), ("in_progress", "host isolated"), ("help_requested", "need a forensic image tool"),
        ("done", "image uploaded")]]

    assert [step["status"] for step in steps] == ["acknowledged", "in_progress", "help_requested", "done"]
    assert steps[-1]["progress_note"] == "image uploaded" and steps[-1]["done_at"]
    assert sent["province"] == "HNI" and sent["priority"] == "urgent"


def test_asking_for_help_needs_a_note_and_a_done_request_stays_done(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    sent = _send(api(cast.analyst), make_incidents(1)[0])
    responder = api(cast.hni_responder)
    path = f"/api/v1/requests/{sent['id']}/"

    assert responder.patch(path, {"status": "help_requested"}).status_code == 400
    assert responder.patch(path, {"status": "done"}).status_code == 200
    assert responder.patch(path, {"status": "in_progress"}).status_code == 400


def test_only_the_centre_sends_requests_and_only_the_province_answers(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    sent = _send(api(cast.analyst), incident)
    responder, auditor = api(cast.hni_responder), api(cast.auditor)

    assert responder.post(f"/api/v1/incidents/{incident.key}/requests/", {
        "instructions": "x", "due_at": (timezone.now() + timedelta(hours=1)).isoformat()}).status_code == 403
    assert auditor.patch(f"/api/v1/requests/{sent['id']}/", {"status": "acknowledged"}).status_code == 403
    assert api(cast.analyst).patch(f"/api/v1/requests/{sent['id']}/", {"status": "done"}).status_code == 403


def test_a_due_time_in_the_past_is_refused(cast: Cast, api: Callable[..., Api],
                                           make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]

    response = api(cast.analyst).post(f"/api/v1/incidents/{incident.key}/requests/", {
        "instructions": "x", "due_at": (timezone.now() - timedelta(hours=1)).isoformat()})

    assert response.status_code == 400 and not RequestForAction.objects.exists()


def test_overdue_requests_are_queryable_and_escalate_once(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    late, on_time = make_incidents(2)
    analyst = api(cast.analyst)
    overdue = _send(analyst, late)
    _send(analyst, on_time)
    RequestForAction.objects.filter(pk=overdue["id"]).update(due_at=timezone.now() - timedelta(minutes=5))

    listed = analyst.get("/api/v1/requests/", overdue="true").json()["results"]
    first, second = escalate_overdue_requests(), escalate_overdue_requests()

    assert [row["id"] for row in listed] == [overdue["id"]] and listed[0]["overdue"] is True
    assert (first, second) == (1, 0)
    assert RequestForAction.objects.get(pk=overdue["id"]).escalated_at is not None
    assert late.timeline.filter(kind="request.escalated").count() == 1


def test_a_done_request_is_never_overdue(cast: Cast, api: Callable[..., Api],
                                         make_incidents: Callable[..., list[Incident]]) -> None:
    sent = _send(api(cast.analyst), make_incidents(1)[0])
    RequestForAction.objects.filter(pk=sent["id"]).update(status=RequestStatus.DONE,
                                                          due_at=timezone.now() - timedelta(hours=1))

    assert escalate_overdue_requests() == 0
    assert api(cast.analyst).get("/api/v1/requests/", overdue="true").json()["results"] == []


def test_escalation_is_scheduled_on_beat_with_an_expiry() -> None:
    entry = beat_schedule()["incidents-escalate-overdue-requests"]

    assert entry["task"] == "incidents.tasks.escalate_overdue_requests"
    assert entry["options"]["expires"] <= entry["schedule"]


def test_ownership_is_handed_to_the_province_and_back(cast: Cast, api: Callable[..., Api],
                                                      make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    analyst = api(cast.analyst)
    path = f"/api/v1/incidents/{incident.key}/handover/"

    assert api(cast.hni_responder).post(path, {"owner": "province"}).status_code == 403
    assert analyst.post(path, {"owner": "province"}).json()["owner"] == "province"
    assert api(cast.hni_responder).post(path, {"owner": "central"}).json()["owner"] == "central"
    assert analyst.post(path, {"owner": "province"}).json()["owner"] == "province"
    assert analyst.post(path, {"owner": "central"}).json()["owner"] == "central"
    assert [e.after["owner"] for e in incident.timeline.filter(kind="incident.handed_over")] == [
        "province", "central", "province", "central"]


def test_the_owner_drives_the_incident_and_the_other_side_watches(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    analyst, responder = api(cast.analyst), api(cast.hni_responder)
    detail, status = f"/api/v1/incidents/{incident.key}/", f"/api/v1/incidents/{incident.key}/status/"

    assert responder.post(status, {"status": "triaged"}).status_code == 403
    assert responder.patch(detail, {"severity": "high"}).status_code == 403
    analyst.post(f"{detail}handover/", {"owner": "province"})

    assert responder.post(status, {"status": "triaged"}).json()["status"] == "triaged"
    assert responder.patch(detail, {"severity": "high"}).json()["severity"] == "high"
    assert analyst.post(status, {"status": "in_progress"}).status_code == 403
    assert analyst.patch(detail, {"title": "taken over"}).status_code == 403
    assert analyst.post(f"{detail}comments/", {"body": "watching"}).status_code == 201
    assert api(cast.hcm_responder).post(status, {"status": "in_progress"}).status_code == 404
    assert api(cast.lead).post(status, {"status": "in_progress"}).json()["status"] == "in_progress"
    assert responder.post(status, {"status": "closed", "resolution_summary": "done"}).status_code == 403


def test_a_responder_bulk_triages_only_what_their_province_owns(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    owned, central = make_incidents(3), make_incidents(2)
    for incident in owned:
        api(cast.analyst).post(f"/api/v1/incidents/{incident.key}/handover/", {"owner": "province"})

    result = api(cast.hni_responder).post("/api/v1/incidents/bulk/", {
        "keys": [i.key for i in owned + central], "action": "status", "status": "triaged"}).json()

    assert sorted(result["changed"]) == sorted(i.key for i in owned)
    assert set(Incident.objects.filter(pk__in=[i.pk for i in central]).values_list("status", flat=True)) == {"new"}
