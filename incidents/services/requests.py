"""Coordination with provinces: requests for action, their answers and their escalation when overdue."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, Priority, RequestForAction, RequestStatus
from incidents.timeline import record as _record
from incidents.timeline import record_many
from organisations.actors import Actor
from soc.live import broadcast_after_commit

# What a province may answer to a request, from each state.
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.OPEN: frozenset({RequestStatus.ACKNOWLEDGED, RequestStatus.IN_PROGRESS,
                                   RequestStatus.HELP_REQUESTED, RequestStatus.DONE}),
    RequestStatus.ACKNOWLEDGED: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.HELP_REQUESTED,
                                           RequestStatus.DONE}),
    RequestStatus.IN_PROGRESS: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.HELP_REQUESTED,
                                          RequestStatus.DONE}),
    RequestStatus.HELP_REQUESTED: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.DONE}),
    RequestStatus.DONE: frozenset(),
}


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
            incident=incident, province=incident.province, created_by=actor.user, instructions=instructions,
            priority=priority, due_at=due_at)
        _record(incident, actor=actor, kind="request.sent",
                after={"request": request.pk, "priority": priority, "due_at": due_at.isoformat()})
        _broadcast_request(request)
    return request


def request_update(*, request: RequestForAction, status: str, note: str, actor: Actor) -> RequestForAction:
    """The province acknowledges, reports progress, asks for help or marks the request done."""
    with transaction.atomic():
        locked = RequestForAction.objects.select_for_update().select_related("incident__province", "province") \
            .get(pk=request.pk)
        if status not in REQUEST_TRANSITIONS.get(locked.status, frozenset()):
            raise ValidationError(f"A request cannot go from '{locked.status}' to '{status}'.")
        if status == RequestStatus.HELP_REQUESTED and not note.strip():
            raise ValidationError("Say what help is needed.")
        before = {"status": locked.status}
        now = timezone.now()
        locked.status, locked.progress_note = status, note.strip() or locked.progress_note
        locked.acknowledged_at = locked.acknowledged_at or now
        locked.done_at = now if status == RequestStatus.DONE else None
        locked.save(update_fields=["status", "progress_note", "acknowledged_at", "done_at", "updated_at"])
        _record(locked.incident, actor=actor, kind="request.updated", before=before,
                after={"request": locked.pk, "status": status, "note": note.strip()})
        _broadcast_request(locked)
    return locked


def request_escalate_overdue(*, now: datetime) -> list[int]:
    """Mark overdue requests escalated (once each) and tell the central SOC; safe to run concurrently."""
    with transaction.atomic():
        overdue = list(RequestForAction.objects.overdue(now).filter(escalated_at__isnull=True)
                       .select_for_update(skip_locked=True, of=("self",)).select_related("incident__province"))
        RequestForAction.objects.filter(pk__in=[r.pk for r in overdue]).update(escalated_at=now)
        record_many([r.incident for r in overdue], actor=Actor.system(), kind="request.escalated",
                    before_of=lambda _: {}, after={"reason": "overdue"})
        for request in overdue:
            request.escalated_at = now
            _broadcast_request(request)
    return [r.pk for r in overdue]


def _broadcast_request(request: RequestForAction) -> None:
    broadcast_after_commit(organisation=request.incident.province, message={
        "kind": "request.updated", "incident": request.incident.key, "request": request.pk,
        "status": request.status, "overdue": request.overdue, "escalated": request.escalated_at is not None})
