"""Merging a duplicate incident into the one that survives."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import Attachment, Comment, Incident, Observable, RequestForAction, Status, TimelineEntry
from incidents.services.bulk import lock_for_update
from incidents.services.live import broadcast_updated
from incidents.signals import incident_merging
from incidents.timeline import record as _record
from organisations.actors import Actor


def incident_merge(*, duplicate: Incident, survivor: Incident, actor: Actor) -> Incident:
    """Comments, observables, requests, evidence and timeline move to ``survivor`` (and, through the
    ``incident_merging`` signal, whatever other apps link to it, such as alerts); ``duplicate`` is closed
    as a duplicate pointing at it. Only within one province, so nothing crosses a tenancy border."""
    if duplicate.pk == survivor.pk:
        raise ValidationError("An incident cannot be merged into itself.")
    if duplicate.province_id != survivor.province_id:
        raise ValidationError("Only incidents of the same province can be merged.")
    with transaction.atomic():
        rows = {row.pk: row for row in lock_for_update(Incident.objects.filter(pk__in=[duplicate.pk, survivor.pk]))}
        dup, surv = rows[duplicate.pk], rows[survivor.pk]
        if Status.DUPLICATE in (dup.status, surv.status):
            raise ValidationError("A duplicate incident cannot take part in another merge.")
        # The survivor already knows these: drop the copies so the per-incident uniqueness holds.
        known = Observable.objects.filter(incident=surv, kind=OuterRef("kind"), value=OuterRef("value"))
        Observable.objects.filter(incident=dup).filter(Exists(known)).delete()
        for model in (Comment, Observable, RequestForAction, Attachment, TimelineEntry):
            model.objects.filter(incident=dup).update(incident=surv)
        incident_merging.send(sender=Incident, duplicate=dup, survivor=surv)
        Incident.objects.filter(pk=surv.pk).update(alert_count=F("alert_count") + dup.alert_count,
                                                   updated_at=timezone.now())
        Incident.objects.filter(pk=dup.pk).update(status=Status.DUPLICATE, merged_into=surv, updated_at=timezone.now(),
                                                  resolved_at=Coalesce(F("resolved_at"), Value(timezone.now())))
        _record(surv, actor=actor, kind="incident.merged", after={"duplicate": dup.key})
        _record(dup, actor=actor, kind="incident.status_changed", before={"status": dup.status},
                after={"status": Status.DUPLICATE, "merged_into": surv.key})
        dup.status = Status.DUPLICATE
        broadcast_updated(dup)
        broadcast_updated(surv)
    surv.refresh_from_db()
    return surv
