"""Tasks on an incident: progress, notes, assignee, due time and evidence, each change on the timeline.

A task is a ``RequestForAction`` row: the centre's own (``owner`` central) or the province's (its requests for
action, answered as they always were through ``request_update``; this module moves them the same way). Who may
change what is the caller's check (``incidents.models.task_work_action`` / ``task_plan_action``, asked of
``Permissions``); this module checks that each change makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.models import Attachment, Owner, RequestForAction, RequestStatus
from incidents.services.workflow import active_member, central_user
from incidents.signals import task_assigned
from incidents.timeline import record as _record
from organisations.access import PROVINCIAL_WORKING_ROLES
from organisations.actors import Actor
from soc.live import broadcast_after_commit

# How work on a task moves (the province has always answered its requests so; the centre works its own alike).
WORK_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.OPEN: frozenset({RequestStatus.ACKNOWLEDGED, RequestStatus.IN_PROGRESS,
                                   RequestStatus.HELP_REQUESTED, RequestStatus.DONE}),
    RequestStatus.ACKNOWLEDGED: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.HELP_REQUESTED,
                                           RequestStatus.DONE}),
    RequestStatus.IN_PROGRESS: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.HELP_REQUESTED,
                                          RequestStatus.DONE}),
    RequestStatus.HELP_REQUESTED: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.DONE}),
    RequestStatus.DONE: frozenset(),
    RequestStatus.NOT_APPLICABLE: frozenset(),
}
# Planning moves (whoever plans the task: see task_plan_action): skip a step that does not apply, with a reason,
# or reinstate a skipped one. A done task stays done.
PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    **{status: frozenset({RequestStatus.NOT_APPLICABLE}) for status in (
        RequestStatus.OPEN, RequestStatus.ACKNOWLEDGED, RequestStatus.IN_PROGRESS, RequestStatus.HELP_REQUESTED)},
    RequestStatus.NOT_APPLICABLE: frozenset({RequestStatus.OPEN}),
    RequestStatus.DONE: frozenset(),
}
UPDATABLE = ("status", "note", "assignee", "due_at", "evidence")


def task_move(task: RequestForAction, *, status: str, note: str, now: datetime,
              transitions: dict[str, frozenset[str]] | None = None) -> None:
    """Apply a status move to a locked task (the caller saves). ``transitions`` limits the moves allowed (the
    request pages allow only the work moves); by default work and plan moves both."""
    allowed = transitions.get(task.status, frozenset()) if transitions is not None else \
        WORK_TRANSITIONS.get(task.status, frozenset()) | PLAN_TRANSITIONS.get(task.status, frozenset())
    if status not in allowed:
        raise ValidationError(f"A task cannot go from '{task.status}' to '{status}'.")
    if status == RequestStatus.HELP_REQUESTED and not note.strip():
        raise ValidationError("Say what help is needed.")
    if status == RequestStatus.NOT_APPLICABLE and not note.strip():
        raise ValidationError("Say why this task does not apply.")
    task.status, task.progress_note = status, note.strip() or task.progress_note
    if status not in (RequestStatus.OPEN, RequestStatus.NOT_APPLICABLE):
        task.acknowledged_at = task.acknowledged_at or now
    task.done_at = now if status == RequestStatus.DONE else None


@dataclass
class _Change:
    """What one update changed: the timeline's before and after, and the columns to save."""

    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    fields: list[str] = field(default_factory=lambda: ["updated_at"])


def task_update(*, task: RequestForAction, actor: Actor, changes: dict[str, Any]) -> RequestForAction:
    """Change any of status (with ``note``), ``note`` alone, ``assignee`` (a user id or None), ``due_at`` and
    ``evidence`` (ids of the incident's attachments: the task's evidence becomes exactly these).

    A centre task is assigned to central staff, a province task to a working member of its province. A new due
    time must be in the future; it lets an escalated province task escalate again if missed again.
    """
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = RequestForAction.objects.select_for_update(of=("self",)).select_related(
            "incident__province", "province", "assignee").get(pk=task.pk)
        change = _Change()
        _status_or_note(locked, changes, change)
        assignee = _assign(locked, changes["assignee"], change) if "assignee" in changes else None
        if changes.get("due_at") and changes["due_at"] != locked.due_at:
            _reschedule(locked, changes["due_at"], change)
        if "evidence" in changes:
            _evidence_set(locked, changes["evidence"], change)
        if len(change.fields) > 1:
            locked.save(update_fields=change.fields)
        if change.after:
            _record(locked.incident, actor=actor, kind="task.updated", before=change.before,
                    after={"task": locked.pk, "owner": locked.owner, "title": locked.label, **change.after})
            if assignee is not None:
                task_assigned.send(sender=RequestForAction, task=locked, assignee=assignee)
            task_broadcast(locked)
    return locked


def _status_or_note(task: RequestForAction, changes: dict[str, Any], change: _Change) -> None:
    """A status move (an unchanged status counts only where it is a move: "in progress" again, with news)."""
    note, status = str(changes.get("note") or "").strip(), str(changes.get("status") or "")
    if status and (status != task.status or status in WORK_TRANSITIONS.get(task.status, frozenset())):
        change.before["status"] = task.status
        task_move(task, status=status, note=note, now=timezone.now())
        change.after["status"] = task.status
        change.fields += ["status", "progress_note", "acknowledged_at", "done_at"]
    elif note:
        task.progress_note = note
        change.fields.append("progress_note")
    if note:
        change.after["note"] = note


def _assign(task: RequestForAction, user_id: int | None, change: _Change) -> AbstractBaseUser | None:
    """The new assignee, when there is one (None: unchanged or unassigned)."""
    if user_id == task.assignee_id:
        return None
    assignee = task_assignee(task, user_id)
    change.before["assignee"] = task.assignee.get_username() if task.assignee else None
    change.after["assignee"] = assignee.get_username() if assignee else None
    task.assignee = assignee  # type: ignore[assignment]
    change.fields.append("assignee")
    return assignee


def _reschedule(task: RequestForAction, due_at: datetime, change: _Change) -> None:
    if due_at <= timezone.now():
        raise ValidationError("The due time must be in the future.")
    change.before["due_at"], change.after["due_at"] = task.due_at.isoformat(), due_at.isoformat()
    task.due_at, task.escalated_at = due_at, None
    change.fields += ["due_at", "escalated_at"]


def task_assignee(task: RequestForAction, user_id: int | None) -> AbstractBaseUser | None:
    """Central staff for the centre's tasks, a working member of the task's province for the province's."""
    if user_id is None:
        return None
    if task.owner == Owner.CENTRAL:
        return central_user(user_id)
    return active_member(user_id, roles=PROVINCIAL_WORKING_ROLES, where={"organisation": task.province},
                         refusal="A province's task is assigned to a responder or admin of that province.")


def _evidence_set(task: RequestForAction, ids: Any, change: _Change) -> None:
    wanted = {int(i) for i in ids or []}
    found = list(Attachment.objects.filter(incident_id=task.incident_id, pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationError("Evidence must be files attached to this incident.")
    had = sorted(task.evidence.values_list("name", flat=True))
    task.evidence.set(found)
    now_names = sorted(a.name for a in found)
    if had != now_names:
        change.before["evidence"], change.after["evidence"] = had, now_names


def task_broadcast(task: RequestForAction) -> None:
    """Consoles in the incident's province (and above) hear of it: the incident page ticks the task off live."""
    broadcast_after_commit(organisation=task.incident.province, message={
        "kind": "request.updated", "incident": task.incident.key, "request": task.pk, "owner": task.owner,
        "status": task.status, "overdue": task.overdue,
        "escalated": task.escalated_at is not None})
