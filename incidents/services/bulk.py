"""Changes to many incidents at once: one UPDATE and two INSERTs, whatever the number of incidents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import TRANSITIONS, Incident, Status, status_action
from incidents.selectors import incident_get_many
from incidents.services.live import broadcast_many_updated
from incidents.services.workflow import central_user
from incidents.sla import clock_stops
from incidents.timeline import record_many
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.selectors import AnyUser


@dataclass
class BulkResult:
    changed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def lock_for_update(incidents: QuerySet[Incident]) -> list[Incident]:
    return list(incidents.select_for_update(of=("self",)).select_related("province", "assignee").order_by("pk"))


def incident_bulk_change_status(
    *, incidents: QuerySet[Incident], status: str, actor: Actor, resolution_summary: str = ""
) -> BulkResult:
    """``incidents`` is already scoped and restricted by the caller; a bad move skips only that incident."""
    if status == Status.CLOSED and not resolution_summary.strip():
        raise ValidationError("Closing incidents requires a resolution summary.")
    result = BulkResult()
    with transaction.atomic():
        rows = lock_for_update(incidents)
        eligible = [row for row in rows if status in TRANSITIONS.get(row.status, frozenset())]
        result.skipped = {row.key: f"cannot go from '{row.status}' to '{status}'" for row in rows
                          if row not in eligible}
        now = timezone.now()
        changes: dict[str, Any] = {"status": status, "updated_at": now}
        changes |= {name: Coalesce(F(name), Value(now)) for name in clock_stops(status, now)}
        after: dict[str, Any] = {"status": status}
        if status == Status.CLOSED:
            changes |= {"closed_at": now, "resolution_summary": resolution_summary.strip()}
            after["resolution_summary"] = resolution_summary.strip()
        Incident.objects.filter(pk__in=[row.pk for row in eligible]).update(**changes)
        before = {row.pk: {"status": row.status} for row in eligible}
        record_many(eligible, actor=actor, kind="incident.status_changed", before_of=lambda i: before[i.pk],
                    after=after)
        for row in eligible:
            row.status = status
        broadcast_many_updated(eligible)
    result.changed = [row.key for row in eligible]
    return result


def incident_bulk_assign(*, incidents: QuerySet[Incident], assignee_id: int | None, actor: Actor) -> BulkResult:
    assignee = central_user(assignee_id)
    name = assignee.get_username() if assignee else None
    with transaction.atomic():
        rows = lock_for_update(incidents)
        Incident.objects.filter(pk__in=[row.pk for row in rows]).update(assignee=assignee, updated_at=timezone.now())
        before = {row.pk: {"assignee": row.assignee.get_username() if row.assignee else None} for row in rows}
        record_many(rows, actor=actor, kind="incident.assigned", before_of=lambda i: before[i.pk],
                    after={"assignee": name})
        broadcast_many_updated(rows)
    return BulkResult(changed=[row.key for row in rows])


def incident_bulk_apply(*, user: AnyUser, actor: Actor, keys: list[str], action: str, status: str | None = None,
               assignee: int | None = None, resolution_summary: str = "") -> BulkResult:
    """Shared by the console and the API: scope, then keep only incidents the user holds the right for."""
    permissions = Permissions(user)
    scoped = incident_get_many(user=user, keys=keys)
    if action == "assign":
        permissions.require(Action.ASSIGN)
        return incident_bulk_assign(incidents=permissions.restrict(scoped, Action.ASSIGN, owned=True),
                                             assignee_id=assignee, actor=actor)
    target = Status.CLOSED if action == "close" else status
    if not target:
        raise ValidationError("Choose the new status.")
    needed = status_action(target)
    permissions.require(needed)
    return incident_bulk_change_status(incidents=permissions.restrict(scoped, needed, owned=True),
                                                status=target, actor=actor,
                                                resolution_summary=resolution_summary or "")
