"""Hooks into incidents without touching that app: new high-severity incidents, assignments,
requests for action (sent by hand, or given by a playbook), task assignments and comment mentions.

These fire for rows saved through the ORM (``incident_create``, ``save()``,
``comment.mentions.set``, ``RequestForAction.objects.create``); a bulk
``QuerySet.update`` sends no signals, so callers that assign that way call
``notifications.services.notify`` themselves.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save, pre_save

from incidents.models import Comment, Incident, Owner, PlaybookVersion, RequestForAction, Severity
from incidents.signals import task_assigned, tasks_added
from notifications.models import Kind
from notifications.services import notify, people_in_scope, province_people

HIGH = (Severity.HIGH, Severity.CRITICAL)


def _remember_assignee(sender: Any, instance: Incident, **kwargs: Any) -> None:
    previous = Incident.objects.filter(pk=instance.pk).values_list("assignee_id", flat=True).first() \
        if instance.pk else None
    instance._previous_assignee_id = previous  # type: ignore[attr-defined]


def _on_incident_saved(sender: Any, instance: Incident, created: bool, **kwargs: Any) -> None:
    if created and instance.severity in HIGH:
        notify(kind=Kind.HIGH_INCIDENT, incident=instance, recipients=people_in_scope(instance))
    previous = getattr(instance, "_previous_assignee_id", None)
    if instance.assignee_id and instance.assignee_id != previous:
        assignee = get_user_model().objects.get(pk=instance.assignee_id)
        notify(kind=Kind.ASSIGNED, incident=instance, recipients=[assignee])


def _on_request_saved(sender: Any, instance: RequestForAction, created: bool, **kwargs: Any) -> None:
    if created and instance.owner == Owner.PROVINCE:  # a task the centre keeps for itself asks no province
        notify(kind=Kind.REQUEST, incident=instance.incident, recipients=province_people(instance.province),
               text=f"{Kind.REQUEST.label}: {instance.incident.key} — {instance.instructions[:300]}")


def _on_tasks_added(sender: Any, incident: Incident, tasks: list[RequestForAction], playbook: PlaybookVersion,
                    **kwargs: Any) -> None:
    """One notice to the province for all the tasks a playbook gave it (not one per task)."""
    theirs = [task for task in tasks if task.owner == Owner.PROVINCE]
    if theirs:
        titles = "; ".join(task.label for task in theirs)
        notify(kind=Kind.REQUEST, incident=incident, recipients=province_people(incident.province),
               text=f"{Kind.REQUEST.label}: {incident.key} — {playbook.name} ({len(theirs)}): {titles}"[:500])


def _on_task_assigned(sender: Any, task: RequestForAction, assignee: Any, **kwargs: Any) -> None:
    notify(kind=Kind.TASK_ASSIGNED, incident=task.incident, recipients=[assignee],
           text=f"{Kind.TASK_ASSIGNED.label}: {task.incident.key} — {task.label}"[:500])


def _on_mentions(sender: Any, instance: Comment, action: str, pk_set: set[int] | None, **kwargs: Any) -> None:
    if action != "post_add" or not pk_set:
        return
    users = get_user_model().objects.filter(pk__in=pk_set)
    notify(kind=Kind.MENTION, incident=instance.incident, recipients=users,
           text=f"{Kind.MENTION.label}: {instance.incident.key} — {instance.body[:300]}")


def connect() -> None:
    pre_save.connect(_remember_assignee, sender=Incident, dispatch_uid="notifications.assignee")
    post_save.connect(_on_incident_saved, sender=Incident, dispatch_uid="notifications.incident")
    post_save.connect(_on_request_saved, sender=RequestForAction, dispatch_uid="notifications.request")
    tasks_added.connect(_on_tasks_added, dispatch_uid="notifications.tasks_added")
    task_assigned.connect(_on_task_assigned, dispatch_uid="notifications.task_assigned")
    m2m_changed.connect(_on_mentions, sender=Comment.mentions.through, dispatch_uid="notifications.mentions")
