"""The tasks section of the incident page: the checklist, its progress, and what the reader may do to each task."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from incidents.models import Attachment, Incident, RequestStatus, task_plan_action, task_work_action
from incidents.selectors import playbook_list, task_assignees, task_list, task_progress
from incidents.services.tasks import PLAN_TRANSITIONS, WORK_TRANSITIONS
from organisations.access import Action, Permissions


def task_context(*, user: Any, incident: Incident, allowed: frozenset[Action],
                 attachments: Iterable[Attachment]) -> dict[str, Any]:
    """What the incident page shows of its tasks: the checklist, its progress, and for each task the moves,
    assignees and evidence the user may set (the page renders small forms only where the user may act)."""
    permissions = Permissions(user)
    tasks = task_list(incident=incident)
    staff: dict[str, list[tuple[int, str]]] = {}
    choices = [(a.pk, a.name) for a in attachments]  # the page's own list (attachment_list), read once
    for task in tasks:
        work = permissions.can(task_work_action(task.owner), incident.province, incident.owner)
        plan = permissions.can(task_plan_action(task.owner), incident.province, incident.owner)
        moves = set(WORK_TRANSITIONS.get(task.status, frozenset())) if work else set()
        moves |= set(PLAN_TRANSITIONS.get(task.status, frozenset())) if plan else set()
        task.moves = [(value, label) for value, label in RequestStatus.choices if value in moves]  # type: ignore[attr-defined]
        task.can_work, task.can_plan = work, plan  # type: ignore[attr-defined]
        if work and task.owner not in staff:
            staff[task.owner] = task_assignees(task=task)
        task.assignees = staff.get(task.owner, []) if work else []  # type: ignore[attr-defined]
        task.linked = {a.pk for a in task.evidence.all()}  # type: ignore[attr-defined]
    return {"tasks": tasks, "task_progress": task_progress(tasks), "task_attachments": choices,
            "playbooks": list(playbook_list().values_list("slug", "name")) if Action.EDIT in allowed else [],
            "task_status_labels": {value: str(label) for value, label in RequestStatus.choices}}
