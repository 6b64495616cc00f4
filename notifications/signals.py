"""Hooks into incidents without touching that app: new high-severity incidents and assignments.

These fire for incidents saved through the ORM (``incident_create`` and any
``save()``); a bulk ``QuerySet.update`` of the assignee does not send signals,
so callers that assign that way call ``notifications.services.notify`` themselves.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

from incidents.models import Incident, Severity
from notifications.models import Kind
from notifications.services import notify, people_in_scope

HIGH = (Severity.HIGH, Severity.CRITICAL)


def _remember_assignee(sender: Any, instance: Incident, **kwargs: Any) -> None:
    previous = Incident.objects.filter(pk=instance.pk).values_list("assignee_id", flat=True).first() \
        if instance.pk else None
    instance._previous_assignee_id = previous  # type: ignore[attr-defined]


def _on_saved(sender: Any, instance: Incident, created: bool, **kwargs: Any) -> None:
    if created and instance.severity in HIGH:
        notify(kind=Kind.HIGH_INCIDENT, incident=instance, recipients=people_in_scope(instance))
    previous = getattr(instance, "_previous_assignee_id", None)
    if instance.assignee_id and instance.assignee_id != previous:
        assignee = get_user_model().objects.get(pk=instance.assignee_id)
        notify(kind=Kind.ASSIGNED, incident=instance, recipients=[assignee])


def connect() -> None:
    pre_save.connect(_remember_assignee, sender=Incident, dispatch_uid="notifications.assignee")
    post_save.connect(_on_saved, sender=Incident, dispatch_uid="notifications.incident")
