"""One incident through its life: status, assignee, owner and descriptive fields, each change on the timeline."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.models import TRANSITIONS, Incident, Owner, Status
from incidents.services.live import broadcast_updated
from incidents.services.playbooks import playbook_category_changed
from incidents.sla import clock_stops
from incidents.sla import set_sla_due as _set_sla_due
from incidents.timeline import record as _record
from organisations.access import ASSIGNEE_ROLES
from organisations.actors import Actor
from organisations.models import Kind

EDITABLE_FIELDS = ("title", "description", "category", "severity", "tlp", "mitre_techniques")
TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")


def _check_transition(*, current: str, target: str, resolution_summary: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise ValidationError(f"An incident cannot go from '{current}' to '{target}'.")
    if target == Status.CLOSED and not resolution_summary.strip():
        raise ValidationError("Closing an incident requires a resolution summary.")


def incident_change_status(*, incident: Incident, status: str, actor: Actor, resolution_summary: str = "") -> Incident:
    _check_transition(current=incident.status, target=status, resolution_summary=resolution_summary)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().select_related("province").get(pk=incident.pk)
        _check_transition(current=locked.status, target=status, resolution_summary=resolution_summary)
        before = {"status": locked.status}
        now = timezone.now()
        changes: dict[str, Any] = {"status": status, "updated_at": now}
        changes |= {name: at for name, at in clock_stops(status, now).items() if getattr(locked, name) is None}
        if status == Status.CLOSED:
            changes |= {"closed_at": now, "resolution_summary": resolution_summary.strip()}
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changes))
        after = {"status": status} | ({"resolution_summary": locked.resolution_summary} if status == Status.CLOSED
                                      else {})
        _record(locked, actor=actor, kind="incident.status_changed", before=before, after=after)
        broadcast_updated(locked)
    return locked


def central_user(assignee_id: int | None) -> AbstractBaseUser | None:
    """Assignees are central staff (members of the national organisation)."""
    if assignee_id is None:
        return None
    return active_member(assignee_id, roles=ASSIGNEE_ROLES, where={"organisation__kind": Kind.NATIONAL},
                         refusal="The assignee must be an active central lead or analyst.")


def active_member(user_id: int, *, roles: Iterable[str], where: dict[str, Any], refusal: str) -> AbstractBaseUser:
    """The active user holding one of ``roles`` in a membership matching ``where``; else ``refusal``."""
    memberships = {f"memberships__{name}": value for name, value in where.items()}
    user = get_user_model().objects.filter(pk=user_id, is_active=True, memberships__role__in=roles,
                                           **memberships).first()
    if user is None:
        raise ValidationError(refusal)
    return user


def incident_assign(*, incident: Incident, assignee_id: int | None, actor: Actor) -> Incident:
    assignee = central_user(assignee_id)
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("province", "assignee").get(
            pk=incident.pk)
        before = {"assignee": locked.assignee.get_username() if locked.assignee else None}
        locked.assignee = assignee  # type: ignore[assignment]
        locked.save(update_fields=["assignee", "updated_at"])
        _record(locked, actor=actor, kind="incident.assigned", before=before,
                after={"assignee": assignee.get_username() if assignee else None})
        broadcast_updated(locked)
    return locked


def incident_handover(*, incident: Incident, owner: str, actor: Actor) -> Incident:
    if owner not in Owner.values:
        raise ValidationError(f"Owner must be one of {', '.join(Owner.values)}.")
    with transaction.atomic():
        locked = Incident.objects.select_for_update().select_related("province").get(pk=incident.pk)
        before = {"owner": locked.owner}
        locked.owner = owner
        locked.save(update_fields=["owner", "updated_at"])
        _record(locked, actor=actor, kind="incident.handed_over", before=before, after={"owner": owner})
        broadcast_updated(locked)
    return locked


def incident_update(*, incident: Incident, actor: Actor, changes: dict[str, Any]) -> Incident:
    """Edit descriptive fields; a severity change restarts nothing but moves the SLA due times; a category
    change brings the new category's playbook tasks (incidents.services.playbooks)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    if "mitre_techniques" in changes:
        changes["mitre_techniques"] = _techniques(changes["mitre_techniques"])
    with transaction.atomic():
        locked = Incident.objects.select_for_update().select_related("province").get(pk=incident.pk)
        changed = {name: value for name, value in changes.items() if getattr(locked, name) != value}
        if not changed:
            return locked
        before = {name: getattr(locked, name) for name in changed}
        for name, value in changed.items():
            setattr(locked, name, value)
        fields = [*changed, "updated_at"]
        if "severity" in changed:
            _set_sla_due(locked, start=locked.created_at)
            fields += ["ack_due_at", "contain_due_at", "resolve_due_at"]
        locked.full_clean(exclude=["province", "assignee", "merged_into", "reported_by", "key"])
        locked.save(update_fields=fields)
        _record(locked, actor=actor, kind="incident.edited", before=before, after=changed)
        if "category" in changed:  # the new category's playbook (what becomes of the old tasks: see there)
            playbook_category_changed(incident=locked, actor=actor)
        broadcast_updated(locked)
    return locked


def _techniques(raw: Any) -> list[str]:
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or [])
    given = [str(item).strip() for item in items if str(item).strip()]
    bad = [item for item in given if not TECHNIQUE.match(item.upper())]
    if bad:
        raise ValidationError(f"Not MITRE ATT&CK technique ids (T1234 or T1234.001): {', '.join(bad)}.")
    return sorted({item.upper() for item in given})
