"""Reads of incidents, always through the user's scope."""

from __future__ import annotations

from django.http import Http404

from incidents.models import Incident, IncidentQuerySet
from organisations.selectors import AnyUser


def incident_list(*, user: AnyUser) -> IncidentQuerySet:
    return Incident.objects.visible_to(user).select_related("province", "assignee")


def incident_get(*, user: AnyUser, key: str) -> Incident:
    """404 for a missing incident and for another province's alike."""
    try:
        return incident_list(user=user).get(key=key)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident") from exc
