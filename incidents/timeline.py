"""Every change to an incident leaves two traces: its timeline (which moves with it when merged)
and the append-only audit log (which never moves). This module writes both, and tells the consoles that
show the incident's investigation timeline (incidents.investigation) after commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from incidents.services.live import broadcast_timeline
from organisations.actors import Actor
from organisations.services import audit_entry, audit_record_many


def record(incident: Incident, *, actor: Actor, kind: str,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    record_many([incident], actor=actor, kind=kind, before_of=lambda _: before or {}, after=after or {})


def record_many(incidents: Iterable[Incident], *, actor: Actor, kind: str,
                before_of: Any, after: dict[str, Any]) -> None:
    """Two INSERTs whatever the number of incidents; ``before_of(incident)`` gives its old values."""
    now = timezone.now()
    rows = list(incidents)
    entries = TimelineEntry.objects.bulk_create([
        TimelineEntry(incident=incident, created_at=now, actor_name=actor.name, kind=kind,
                      before=before_of(incident), after=after)
        for incident in rows
    ], batch_size=1000)
    broadcast_timeline(entries)  # the open investigation timelines show the new line at once
    audit_record_many(records=[
        audit_entry(actor=actor, action=kind, object_type="incident", object_ref=incident.key,
                    organisation_id=incident.province_id, before=before_of(incident), after=after)
        for incident in rows
    ])
