"""Comments (with @mentions) and observables on an incident."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from incidents.models import Comment, Incident, Observable
from incidents.observables import observable_normalise
from incidents.services.live import broadcast_updated
from incidents.timeline import record as _record
from organisations.actors import Actor
from soc.live import user_notify_after_commit

MENTION = re.compile(r"(?<![\w.@])@([\w.+-]{1,150})")


def comment_add(*, incident: Incident, body: str, actor: Actor) -> Comment:
    """@username mentions are stored only for users who can see this incident, and notified live."""
    if not body.strip():
        raise ValidationError("A comment cannot be empty.")
    names = {match.rstrip(".") for match in MENTION.findall(body)}
    with transaction.atomic():
        comment = Comment.objects.create(incident=incident, author=actor.user, body=body)
        mentioned = [user for user in get_user_model().objects.filter(username__in=names, is_active=True)
                     if Incident.objects.visible_to(user).filter(pk=incident.pk).exists()]
        comment.mentions.set(mentioned)
        _record(incident, actor=actor, kind="comment.added",
                after={"comment": comment.pk, "mentions": sorted(user.get_username() for user in mentioned)})
        for user in mentioned:
            user_notify_after_commit(user_id=user.pk, message={"kind": "comment.mention", "incident": incident.key})
        broadcast_updated(incident)
    return comment


def observable_add(*, incident: Incident, kind: str, value: str, actor: Actor) -> tuple[Observable, bool]:
    """Normalised and de-duplicated per incident; adding a known one is not an error."""
    normalised = observable_normalise(kind, value)
    with transaction.atomic():
        observable, created = Observable.objects.get_or_create(incident=incident, kind=kind, value=normalised)
        if created:
            _record(incident, actor=actor, kind="observable.added", after={"kind": kind, "value": normalised})
            broadcast_updated(incident)
    return observable, created
