"""Writes from the console: an event found while hunting is added to an incident.

The incident's own services do the writing (comment, observables), so its
timeline, audit log and live updates follow as for any other change.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from console.events import Event
from incidents.models import Comment, Incident, ObservableKind
from incidents.services import comment_add, observable_add
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
