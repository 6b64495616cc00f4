"""Notifications from the incident workflow: mentions, requests for action, SLA deadlines."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from incidents.models import Incident, RequestForAction
from incidents.services.collaboration import comment_add
from incidents.services.intake import incident_create
from notifications.models import Kind, Notification
from notifications.services import sla_notices_send
from organisations.actors import Actor
from tests.conftest import Cast


def told(kind: str) -> list[str]:
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def test_a_comment_mentioning_someone_tells_them(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="t", severity="low")
    comment_add(incident=incident, body="@hni.responder please isolate the host; @hcm.responder FYI",
                actor=Actor(user=cast.analyst))
    # The Hồ Chí Minh responder cannot see a Hà Nội incident, so is neither mentioned nor told.
    assert told(Kind.MENTION) == ["hni.responder"]
    assert "please isolate" in Notification.objects.get(kind=Kind.MENTION).text


def test_a_request_for_action_tells_the_province(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="t", severity="low")
    RequestForAction.objects.create(incident=incident, province=cast.hni, created_by=cast.analyst,
                                    instructions="Block 203.0.113.5 at the edge", due_at=timezone.now())
    assert told(Kind.REQUEST) == ["hni.responder"]


def test_a_passed_deadline_is_told_once_to_the_assignee(cast: Cast) -> None:
    now = timezone.now()
    incident = incident_create(province=cast.hni, title="t", severity="low")
    Incident.objects.filter(pk=incident.pk).update(assignee=cast.hni_responder, ack_due_at=now - timedelta(minutes=1),
                                                   acknowledged_at=None)
    assert sla_notices_send(now=now) == 1
    assert sla_notices_send(now=now) == 0
    assert told(Kind.SLA_BREACHED) == ["hni.responder"]


def test_a_near_deadline_warns_the_province_and_the_national_soc_when_unassigned(cast: Cast) -> None:
    now = timezone.now()
    incident = incident_create(province=cast.hni, title="t", severity="low")
    Incident.objects.filter(pk=incident.pk).update(
        assignee=None, acknowledged_at=now, resolve_due_at=now + timedelta(minutes=10))
    assert sla_notices_send(now=now) == 1
    assert told(Kind.SLA_SOON) == ["analyst", "hni.responder", "lead"]
    assert told(Kind.SLA_BREACHED) == []


def test_met_or_distant_deadlines_are_not_told(cast: Cast) -> None:
    now = timezone.now()
    incident = incident_create(province=cast.hni, title="t", severity="low")
    Incident.objects.filter(pk=incident.pk).update(
        ack_due_at=now - timedelta(hours=1), acknowledged_at=now - timedelta(hours=2),
        contain_due_at=now + timedelta(hours=5), contained_at=None, resolve_due_at=None)
    assert sla_notices_send(now=now) == 0
