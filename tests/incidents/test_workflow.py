"""The incident workflow: allowed transitions, closing needs a summary, every change timed, audited and broadcast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from incidents.models import TRANSITIONS, Incident, Status, TimelineEntry
from incidents.services.workflow import incident_change_status
from organisations.actors import Actor
from organisations.models import AuditLog
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db


def test_every_status_has_a_row_in_the_transition_table_and_duplicate_is_only_reached_by_merging() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert all(Status.DUPLICATE not in targets for targets in TRANSITIONS.values())


def test_the_lead_walks_an_incident_from_new_to_closed(cast: Cast, api: Callable[..., Api],
                                                       make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    lead = api(cast.lead)
    for status in ("triaged", "in_progress", "contained", "resolved"):
        assert lead.post(f"/api/v1/incidents/{incident.key}/status/", {"status": status}).status_code == 200

    closed = lead.post(f"/api/v1/incidents/{incident.key}/status/",
                       {"status": "closed", "resolution_summary": "Password reset, host rebuilt."}).json()

    assert closed["status"] == "closed" and closed["resolution_summary"] == "Password reset, host rebuilt."
    assert closed["acknowledged_at"] and closed["contained_at"] and closed["resolved_at"] and closed["closed_at"]


def test_a_move_outside_the_table_is_refused_with_the_standard_error_body(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]

    response = api(cast.lead).post(f"/api/v1/incidents/{incident.key}/status/", {"status": "contained"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "An incident cannot go from 'new' to 'contained'."
    assert Incident.objects.get(pk=incident.pk).status == Status.NEW


def test_closing_without_a_resolution_summary_is_refused(cast: Cast, api: Callable[..., Api],
                                                         make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]

    response = api(cast.lead).post(f"/api/v1/incidents/{incident.key}/status/",
                                   {"status": "closed", "resolution_summary": "   "})

    assert response.status_code == 400 and "resolution summary" in str(response.json())
    assert Incident.objects.get(pk=incident.pk).status == Status.NEW


def test_each_change_lands_in_the_timeline_and_the_audit_log_with_who_before_after_and_ip(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]

    api(cast.analyst).post(f"/api/v1/incidents/{incident.key}/status/", {"status": "triaged"})

    entry = TimelineEntry.objects.filter(incident=incident, kind="incident.status_changed").get()
    audit = AuditLog.objects.filter(object_ref=incident.key, action="incident.status_changed").get()
    assert (entry.actor_name, entry.before, entry.after) == ("analyst", {"status": "new"}, {"status": "triaged"})
    assert (audit.actor_name, str(audit.ip), audit.before, audit.after) == (
        "analyst", "203.0.113.9", {"status": "new"}, {"status": "triaged"})


def test_roles_decide_who_may_triage_assign_and_close(cast: Cast, api: Callable[..., Api],
                                                      make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    path = f"/api/v1/incidents/{incident.key}"
    analyst, responder, lead = api(cast.analyst), api(cast.hni_responder), api(cast.lead)

    assert responder.post(f"{path}/status/", {"status": "triaged"}).status_code == 403
    assert analyst.post(f"{path}/status/", {"status": "triaged"}).status_code == 200
    assert responder.post(f"{path}/status/", {"status": "in_progress"}).status_code == 200
    assert analyst.post(f"{path}/assign/", {"assignee": cast.analyst.pk}).status_code == 403
    assert lead.post(f"{path}/assign/", {"assignee": cast.analyst.pk}).json()["assignee"] == "analyst"
    assert analyst.post(f"{path}/status/", {"status": "closed", "resolution_summary": "x"}).status_code == 403
    assert lead.post(f"{path}/status/", {"status": "closed", "resolution_summary": "x"}).status_code == 200


def test_only_central_staff_can_be_assigned(cast: Cast, api: Callable[..., Api],
                                            make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]

    response = api(cast.lead).post(f"/api/v1/incidents/{incident.key}/assign/", {"assignee": cast.hni_responder.pk})

    assert response.status_code == 400 and Incident.objects.get(pk=incident.pk).assignee is None


def _listen(group: str) -> tuple[Any, str]:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return layer, channel


def test_a_change_is_broadcast_to_the_province_and_the_centre_only_after_commit(
        cast: Cast, make_incidents: Callable[..., list[Incident]],
        django_capture_on_commit_callbacks: Any) -> None:
    incident = make_incidents(1)[0]
    layer, channel = _listen("org.HNI")
    hcm_layer, hcm_channel = _listen("org.HCM")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident_change_status(incident=incident, status=Status.TRIAGED, actor=Actor.system())
    assert len(callbacks) == 2  # nothing sent before the commit: the timeline's new line, then the incident
    for callback in callbacks:
        callback()

    line, message = (async_to_sync(layer.receive)(channel)["message"] for _ in callbacks)
    assert line["kind"] == "timeline.item" and line["item"]["kind"] == "status"
    assert message["kind"] == "incident.updated" and message["incident"]["status"] == "triaged"
    with pytest.raises(TimeoutError):
        async_to_sync(_receive_with_timeout)(hcm_layer, hcm_channel)


async def _receive_with_timeout(layer: Any, channel: str) -> Any:
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), timeout=0.5)


def test_the_console_assigns_from_a_list_of_central_staff(cast: Cast, api: Callable[..., Api],
                                                          make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    lead = api(cast.lead).client

    page = lead.get(f"/incidents/{incident.key}/").content.decode()
    lead.post(f"/incidents/{incident.key}/assign/", {"assignee": cast.hni_responder.pk})
    refused = Incident.objects.get(pk=incident.pk).assignee
    lead.post(f"/incidents/{incident.key}/assign/", {"assignee": cast.analyst.pk})

    assert f'<option value="{cast.analyst.pk}">analyst</option>' in page
    assert f'value="{cast.hni_responder.pk}"' not in page
    assert refused is None and Incident.objects.get(pk=incident.pk).assignee == cast.analyst
