"""Writes from the console: an event found while hunting is added to an incident; the dashboard's weekly rollup.

The incident's own services do the writing (comment, observables), so its
timeline, audit log and live updates follow as for any other change.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from console.dashboard import incident_week_sums, week_start_moment, week_starts
from console.events import Event
from console.models import WeeklyFigures
from incidents.models import Comment, Incident, ObservableKind
from incidents.services.collaboration import comment_add, observable_add
from organisations.actors import Actor

# Event fields that become observables of the incident, with their kind.
OBSERVABLE_FIELDS = (("source.ip", ObservableKind.IP), ("destination.ip", ObservableKind.IP),
                     ("user.name", ObservableKind.ACCOUNT), ("host.name", ObservableKind.HOST))
COMMENT_FIELDS = ("@timestamp", "organization.id", "host.name", "event.dataset", "event.action", "event.outcome",
                  "source.ip", "user.name")


def event_attach(*, incident: Incident, event: Event, actor: Actor) -> Comment:
    """A comment quoting the event (id, key fields, summary) and its addresses, accounts and hosts as observables."""
    lines = [f"Event {event.id}"] + [f"{name}: {event.fields[name]}" for name in COMMENT_FIELDS
                                     if event.fields.get(name)]
    if event.summary:
        lines.append(event.summary)
    comment = comment_add(incident=incident, body="\n".join(lines), actor=actor)
    for name, kind in OBSERVABLE_FIELDS:
        value = event.fields.get(name, "")
        if value:
            try:
                observable_add(incident=incident, kind=kind, value=value, actor=actor)
            except ValidationError:
                continue  # not a valid value of that kind (e.g. a hostile host name): the comment keeps it
    return comment


def weekly_figures_refresh(*, now: datetime) -> int:
    """Recount every past week of the dashboard's trend charts, for every province, in one grouped scan.

    The rows are replaced in one transaction under an advisory lock, so readers see the old or the new figures,
    never a mix, and two overlapping runs (a slow worker, a manual run) take turns instead of colliding.
    """
    weeks = week_starts(now)
    incidents = Incident.objects.filter(created_at__gte=week_start_moment(weeks[0]),
                                        created_at__lt=week_start_moment(weeks[-1]), province__isnull=False)
    rows = incident_week_sums(incidents, now=now, by_province=True)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('console.weekly_figures'))")
        WeeklyFigures.objects.all().delete()
        WeeklyFigures.objects.bulk_create([WeeklyFigures(computed_at=now, **row) for row in rows], batch_size=1000)
    return len(rows)
