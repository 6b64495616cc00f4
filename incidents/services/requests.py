"""Coordination with provinces: requests for action, their answers and their escalation when overdue.

A request for action is a province's task on the incident (``RequestForAction`` with ``owner`` province): sent
here by hand, or given by a playbook (incidents.services.playbooks). The province answers either way through
``request_update``; the moves are the tasks' work moves (incidents.services.tasks).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, Owner, Priority, RequestForAction
from incidents.services.tasks import WORK_TRANSITIONS, task_broadcast, task_move
from incidents.timeline import record as _record
from incidents.timeline import record_many
from organisations.actors import Actor

# What a province may answer to a request, from each state (skipping one is the centre's: see tasks).
REQUEST_TRANSITIONS = WORK_TRANSITIONS


def request_send(*, incident: Incident, instructions: str, due_at: datetime, priority: str,
                 actor: Actor) -> RequestForAction:
    if not instructions.strip():
        raise ValidationError("Say what the province should do.")
    if priority not in Priority.values:
        raise ValidationError(f"Priority must be one of {', '.join(Priority.values)}.")
    if due_at <= timezone.now():
        raise ValidationError("The due time must be in the future.")
    with transaction.atomic():
        request = RequestForAction.objects.create(
            incident=incident, province=incident.province, owner=Owner.PROVINCE, created_by=actor.user,
            instructions=instructions, priority=priority, due_at=due_at, position=_next_position(incident))
        _record(incident, actor=actor, kind="request.sent",
                after={"request": request.pk, "priority": priority, "due_at": due_at.isoformat()})
        task_broadcast(request)
    return request


def _next_position(incident: Incident) -> int:
    last = RequestForAction.objects.filter(incident=incident).order_by("-position").values_list("position",
                                                                                                 flat=True).first()
    return (last or 0) + 1


def request_update(*, request: RequestForAction, status: str, note: str, actor: Actor) -> RequestForAction:
    """The province acknowledges, reports progress, asks for help or marks the request done."""
    with transaction.atomic():
        locked = RequestForAction.objects.select_for_update().select_related("incident__province", "province") \
            .get(pk=request.pk)
        before = {"status": locked.status}
        task_move(locked, status=status, note=note, now=timezone.now(), transitions=REQUEST_TRANSITIONS)
        locked.save(update_fields=["status", "progress_note", "acknowledged_at", "done_at", "updated_at"])
        _record(locked.incident, actor=actor, kind="request.updated", before=before,
                after={"request": locked.pk, "status": status, "note": note.strip()})
        task_broadcast(locked)
    return locked


def request_escalate_overdue(*, now: datetime) -> list[int]:
    """Mark overdue requests escalated (once each) and tell the central SOC; safe to run concurrently.

    Only a province's tasks escalate (the centre hears that a province is late); the centre's own overdue
    tasks are reminded about through notifications (``task_notices_send``)."""
    with transaction.atomic():
        overdue = list(RequestForAction.objects.requests().overdue(now).filter(escalated_at__isnull=True)
                       .select_for_update(skip_locked=True, of=("self",)).select_related("incident__province"))
        RequestForAction.objects.filter(pk__in=[r.pk for r in overdue]).update(escalated_at=now)
        record_many([r.incident for r in overdue], actor=Actor.system(), kind="request.escalated",
                    before_of=lambda _: {}, after={"reason": "overdue"})
        for request in overdue:
            request.escalated_at = now
            task_broadcast(request)
    return [r.pk for r in overdue]
