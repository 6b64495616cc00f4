"""Writes to incidents. Keyword-only; callers are views, the API, tasks and consumers."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.evidence import evidence_check
from incidents.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Attachment,
    Category,
    Comment,
    Incident,
    IncidentSequence,
    Observable,
    Owner,
    Priority,
    RequestForAction,
    RequestStatus,
    SavedFilter,
    Severity,
    SlaPolicy,
    Status,
    TimelineEntry,
)
from incidents.observables import observable_normalise
from incidents.selectors import FILTER_KEYS
from incidents.signals import incident_merging
from incidents.sla import DEFAULT_TARGETS, clock_stops
from incidents.sla import set_sla_due as _set_sla_due
from incidents.timeline import record as _record
from incidents.timeline import record_many
from organisations.access import ASSIGNEE_ROLES
from organisations.actors import Actor
from organisations.models import Kind, Organisation
from organisations.selectors import AnyUser
from organisations.services import audit_record
from soc.live import broadcast_after_commit, broadcast_many_after_commit, user_notify_after_commit


def _next_key(*, province: Organisation, year: int) -> str:
    """HNI-2026-0042. Caller holds a transaction; the row lock serialises numbering."""
    seq, _ = IncidentSequence.objects.select_for_update().get_or_create(province=province, year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{province.code}-{year}-{seq.last:04d}"


def incident_summary(incident: Incident) -> dict[str, object]:
    """What a console needs to show a row; the browser renders it as text."""
    return {
        "key": incident.key,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "province": incident.province.code,
        "created_at": incident.created_at.isoformat(),
        "alert_count": incident.alert_count,
    }


def incident_create(
    *,
    province: Organisation,
    title: str,
    description: str = "",
    category: str = Category.OTHER,
    severity: str = Severity.MEDIUM,
    dedup_key: str = "",
    actor: Actor | None = None,
    **intake: Any,
) -> Incident:
    """``intake`` carries the provincial form's fields (reported_by, affected_systems, occurred_at, contact)."""
    actor = actor or Actor.system()
    with transaction.atomic():
        key = _next_key(province=province, year=timezone.localdate().year)
        now = timezone.now()
        incident = Incident(
            key=key, title=title, description=description, category=category,
            severity=severity, province=province, dedup_key=dedup_key, last_seen_at=now, **intake,
        )
        _set_sla_due(incident, start=now)
        incident.save()
        _record(incident, actor=actor, kind="incident.created",
                after={"title": title, "severity": severity, "category": category, "province": province.code})
        broadcast_after_commit(
            organisation=province, message={"kind": "incident.created", "incident": incident_summary(incident)}
        )
    return incident


def incident_open_or_touch_for_detection(
    *,
    province: Organisation,
    dedup_key: str,
    title: str,
    description: str,
    severity: str,
    category: str,
    seen_at: datetime,
    new_alerts: int = 1,
) -> tuple[Incident, bool]:
    """One open incident per dedup key: the first alert opens it, later ones touch it.

    Safe under concurrency: the partial unique constraint makes a racing twin
    fail, and the loser re-reads the winner's incident.
    """
    existing = Incident.objects.filter(dedup_key=dedup_key, status__in=OPEN_STATUSES).first()
    if existing is None:
        try:
            with transaction.atomic():
                incident = incident_create(
                    province=province, title=title, description=description, category=category,
                    severity=severity, dedup_key=dedup_key,
                )
                Incident.objects.filter(pk=incident.pk).update(alert_count=new_alerts)
                incident.alert_count = new_alerts
                return incident, True
        except IntegrityError:
            existing = Incident.objects.get(dedup_key=dedup_key, status__in=OPEN_STATUSES)
    _touch(existing, seen_at=seen_at, new_alerts=new_alerts)
    return existing, False


def _touch(incident: Incident, *, seen_at: datetime, new_alerts: int) -> None:
    Incident.objects.filter(pk=incident.pk).update(alert_count=F("alert_count") + new_alerts, last_seen_at=seen_at)
    incident.refresh_from_db(fields=["alert_count", "last_seen_at"])


# --- workflow -------------------------------------------------------------------------------------------

EDITABLE_FIELDS = ("title", "description", "category", "severity", "tlp", "mitre_techniques")
TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")


def _broadcast_updated(incident: Incident) -> None:
    broadcast_after_commit(organisation=incident.province,
                           message={"kind": "incident.updated", "incident": incident_summary(incident)})


def _broadcast_many_updated(incidents: list[Incident]) -> None:
    broadcast_many_after_commit(messages=[
        (incident.province, {"kind": "incident.updated", "incident": incident_summary(incident)})
        for incident in incidents])


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
        _broadcast_updated(locked)
    return locked


def _central_user(assignee_id: int | None) -> AbstractBaseUser | None:
    """Assignees are central staff (members of the national organisation)."""
    if assignee_id is None:
        return None
    user = get_user_model().objects.filter(
        pk=assignee_id, is_active=True, memberships__organisation__kind=Kind.NATIONAL,
        memberships__role__in=ASSIGNEE_ROLES).first()
    if user is None:
        raise ValidationError("The assignee must be an active central lead or analyst.")
    return user


def incident_assign(*, incident: Incident, assignee_id: int | None, actor: Actor) -> Incident:
    assignee = _central_user(assignee_id)
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("province", "assignee").get(
            pk=incident.pk)
        before = {"assignee": locked.assignee.get_username() if locked.assignee else None}
        locked.assignee = assignee  # type: ignore[assignment]
        locked.save(update_fields=["assignee", "updated_at"])
        _record(locked, actor=actor, kind="incident.assigned", before=before,
                after={"assignee": assignee.get_username() if assignee else None})
        _broadcast_updated(locked)
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
        _broadcast_updated(locked)
    return locked


def incident_update(*, incident: Incident, actor: Actor, changes: dict[str, Any]) -> Incident:
    """Edit descriptive fields; a severity change restarts nothing but moves the SLA due times."""
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
        _broadcast_updated(locked)
    return locked


def _techniques(raw: Any) -> list[str]:
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or [])
    given = [str(item).strip() for item in items if str(item).strip()]
    bad = [item for item in given if not TECHNIQUE.match(item.upper())]
    if bad:
        raise ValidationError(f"Not MITRE ATT&CK technique ids (T1234 or T1234.001): {', '.join(bad)}.")
    return sorted({item.upper() for item in given})


# --- bulk changes: one UPDATE, two INSERTs, whatever the number of incidents -------------------------------

@dataclass
class BulkResult:
    changed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _lock(incidents: QuerySet[Incident]) -> list[Incident]:
    return list(incidents.select_for_update(of=("self",)).select_related("province", "assignee").order_by("pk"))


def incident_bulk_change_status(
    *, incidents: QuerySet[Incident], status: str, actor: Actor, resolution_summary: str = ""
) -> BulkResult:
    """``incidents`` is already scoped and restricted by the caller; a bad move skips only that incident."""
    if status == Status.CLOSED and not resolution_summary.strip():
        raise ValidationError("Closing incidents requires a resolution summary.")
    result = BulkResult()
    with transaction.atomic():
        rows = _lock(incidents)
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
        _broadcast_many_updated(eligible)
    result.changed = [row.key for row in eligible]
    return result


def incident_bulk_assign(*, incidents: QuerySet[Incident], assignee_id: int | None, actor: Actor) -> BulkResult:
    assignee = _central_user(assignee_id)
    name = assignee.get_username() if assignee else None
    with transaction.atomic():
        rows = _lock(incidents)
        Incident.objects.filter(pk__in=[row.pk for row in rows]).update(assignee=assignee, updated_at=timezone.now())
        before = {row.pk: {"assignee": row.assignee.get_username() if row.assignee else None} for row in rows}
        record_many(rows, actor=actor, kind="incident.assigned", before_of=lambda i: before[i.pk],
                    after={"assignee": name})
        _broadcast_many_updated(rows)
    return BulkResult(changed=[row.key for row in rows])


# --- comments, observables --------------------------------------------------------------------------------

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
        _broadcast_updated(incident)
    return comment


def observable_add(*, incident: Incident, kind: str, value: str, actor: Actor) -> tuple[Observable, bool]:
    """Normalised and de-duplicated per incident; adding a known one is not an error."""
    normalised = observable_normalise(kind, value)
    with transaction.atomic():
        observable, created = Observable.objects.get_or_create(incident=incident, kind=kind, value=normalised)
        if created:
            _record(incident, actor=actor, kind="observable.added", after={"kind": kind, "value": normalised})
            _broadcast_updated(incident)
    return observable, created


# --- coordination with provinces ---------------------------------------------------------------------------

# What a province may answer to a request, from each state.
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.OPEN: frozenset({RequestStatus.ACKNOWLEDGED, RequestStatus.IN_PROGRESS,
                                   RequestStatus.HELP_REQUESTED, RequestStatus.DONE}),
    RequestStatus.ACKNOWLEDGED: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.HELP_REQUESTED,
                                           RequestStatus.DONE}),
    RequestStatus.IN_PROGRESS: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.HELP_REQUESTED,
                                          RequestStatus.DONE}),
    RequestStatus.HELP_REQUESTED: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.DONE}),
    RequestStatus.DONE: frozenset(),
}


def request_send(*, incident: Incident, instructions: str, due_at: datetime, priority: str,
                 actor: Actor) -> RequestForAction:
    if not instructions.strip():
        raise ValidationError("Say what the province should do.")
    if priority not in Priority.values:
        raise ValidationError(f"Priority must be one of {', '.join(Priority.values)}.")
    if due_at <= timezone.now():
        raise ValidationError("The due time must be in the future.")
    with transaction.atomic():
        request = RequestForAction.objects.create(
            incident=incident, province=incident.province, created_by=actor.user, instructions=instructions,
            priority=priority, due_at=due_at)
        _record(incident, actor=actor, kind="request.sent",
                after={"request": request.pk, "priority": priority, "due_at": due_at.isoformat()})
        _broadcast_request(request)
    return request


def request_update(*, request: RequestForAction, status: str, note: str, actor: Actor) -> RequestForAction:
    """The province acknowledges, reports progress, asks for help or marks the request done."""
    with transaction.atomic():
        locked = RequestForAction.objects.select_for_update().select_related("incident__province", "province") \
            .get(pk=request.pk)
        if status not in REQUEST_TRANSITIONS.get(locked.status, frozenset()):
            raise ValidationError(f"A request cannot go from '{locked.status}' to '{status}'.")
        if status == RequestStatus.HELP_REQUESTED and not note.strip():
            raise ValidationError("Say what help is needed.")
        before = {"status": locked.status}
        now = timezone.now()
        locked.status, locked.progress_note = status, note.strip() or locked.progress_note
        locked.acknowledged_at = locked.acknowledged_at or now
        locked.done_at = now if status == RequestStatus.DONE else None
        locked.save(update_fields=["status", "progress_note", "acknowledged_at", "done_at", "updated_at"])
        _record(locked.incident, actor=actor, kind="request.updated", before=before,
                after={"request": locked.pk, "status": status, "note": note.strip()})
        _broadcast_request(locked)
    return locked


def request_escalate_overdue(*, now: datetime) -> list[int]:
    """Mark overdue requests escalated (once each) and tell the central SOC; safe to run concurrently."""
    with transaction.atomic():
        overdue = list(RequestForAction.objects.overdue(now).filter(escalated_at__isnull=True)
                       .select_for_update(skip_locked=True, of=("self",)).select_related("incident__province"))
        RequestForAction.objects.filter(pk__in=[r.pk for r in overdue]).update(escalated_at=now)
        record_many([r.incident for r in overdue], actor=Actor.system(), kind="request.escalated",
                    before_of=lambda _: {}, after={"reason": "overdue"})
        for request in overdue:
            request.escalated_at = now
            _broadcast_request(request)
    return [r.pk for r in overdue]


def _broadcast_request(request: RequestForAction) -> None:
    broadcast_after_commit(organisation=request.incident.province, message={
        "kind": "request.updated", "incident": request.incident.key, "request": request.pk,
        "status": request.status, "overdue": request.overdue, "escalated": request.escalated_at is not None})


# --- evidence ------------------------------------------------------------------------------------------------

def attachment_add(*, incident: Incident, upload: UploadedFile, actor: Actor) -> Attachment:
    """Size and type checked before anything is stored; the stored file name is random, never the user's."""
    name = evidence_check(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    with transaction.atomic():
        attachment = Attachment(incident=incident, uploaded_by=actor.user, name=name, content_type=content_type,
                                size=upload.size or 0, sha256=digest.hexdigest())
        attachment.file.save(f"{uuid.uuid4().hex}.bin", upload, save=False)
        try:
            attachment.save()
            _record(incident, actor=actor, kind="attachment.added",
                    after={"name": name, "sha256": attachment.sha256, "size": attachment.size})
        except Exception:
            attachment.file.delete(save=False)
            raise
        _broadcast_updated(incident)
    return attachment


# --- merging ------------------------------------------------------------------------------------------------

def incident_merge(*, duplicate: Incident, survivor: Incident, actor: Actor) -> Incident:
    """Comments, observables, requests, evidence and timeline move to ``survivor`` (and, through the
    ``incident_merging`` signal, whatever other apps link to it, such as alerts); ``duplicate`` is closed
    as a duplicate pointing at it. Only within one province, so nothing crosses a tenancy border."""
    if duplicate.pk == survivor.pk:
        raise ValidationError("An incident cannot be merged into itself.")
    if duplicate.province_id != survivor.province_id:
        raise ValidationError("Only incidents of the same province can be merged.")
    with transaction.atomic():
        rows = {row.pk: row for row in _lock(Incident.objects.filter(pk__in=[duplicate.pk, survivor.pk]))}
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
        _broadcast_updated(dup)
        _broadcast_updated(surv)
    surv.refresh_from_db()
    return surv


# --- provincial intake --------------------------------------------------------------------------------------

def incident_file(*, province: Organisation, title: str, description: str, affected_systems: str,
                  occurred_at: datetime | None, contact: str, category: str, severity: str,
                  actor: Actor) -> Incident:
    """A province reports an incident: it starts as ``new`` in the central triage queue."""
    if not title.strip() or not description.strip():
        raise ValidationError("Say what happened (a title and a description).")
    if occurred_at is not None and occurred_at > timezone.now():
        raise ValidationError("The time of the incident cannot be in the future.")
    return incident_create(
        province=province, title=title.strip(), description=description, category=category, severity=severity,
        actor=actor, reported_by=actor.user, affected_systems=affected_systems, occurred_at=occurred_at,
        contact=contact)


# --- saved filters --------------------------------------------------------------------------------------------

def saved_filter_save(*, user: AnyUser, name: str, params: Mapping[str, Any]) -> SavedFilter:
    """Keeps only the list's known filter keys; saving under an existing name replaces it."""
    if not name.strip():
        raise ValidationError("Name the filter.")
    kept = {key: str(params[key]) for key in FILTER_KEYS if params.get(key)}
    if not kept:
        raise ValidationError("There is no filter to save.")
    saved, _ = SavedFilter.objects.update_or_create(user_id=user.pk, name=name.strip()[:100],
                                                    defaults={"query": urlencode(kept)})
    return saved


def saved_filter_delete(*, saved: SavedFilter) -> None:
    saved.delete()


# --- SLA policy -----------------------------------------------------------------------------------------------

def sla_policy_defaults_ensure(*, national: Organisation) -> int:
    """The national policy rows, from the built-in targets, where none exist yet; returns how many were made."""
    made = 0
    for severity, targets in DEFAULT_TARGETS.items():
        _, created = SlaPolicy.objects.get_or_create(organisation=national, severity=severity, defaults={
            "acknowledge_minutes": targets.acknowledge_minutes, "contain_minutes": targets.contain_minutes,
            "resolve_minutes": targets.resolve_minutes})
        made += created
    return made


SLA_FIELDS = ("acknowledge_minutes", "contain_minutes", "resolve_minutes", "business_hours_only",
              "business_day_start", "business_day_end")
SLA_MAX_MINUTES = 366 * 24 * 60


def _sla_check(values: Mapping[str, Any]) -> None:
    ack, contain, resolve = (int(values[f]) for f in ("acknowledge_minutes", "contain_minutes", "resolve_minutes"))
    if not 1 <= ack <= contain <= resolve <= SLA_MAX_MINUTES:
        raise ValidationError("Times must be at least 1 minute, at most a year, and acknowledge ≤ contain ≤ resolve.")
    if values.get("business_hours_only") and not values["business_day_start"] < values["business_day_end"]:
        raise ValidationError("The business day must start before it ends.")


def sla_policy_set(*, organisation: Organisation, severity: str, values: Mapping[str, Any],
                   actor: Actor) -> SlaPolicy:
    """The national row is the default; a province's row overrides it. New targets apply to incidents opened
    from now on: an open incident keeps the due times it was promised when it opened."""
    if severity not in Severity.values:
        raise ValidationError(f"Unknown severity {severity!r}.")
    current = SlaPolicy.objects.filter(organisation=organisation, severity=severity).first()
    base = current or SlaPolicy()  # a blank row carries the model's defaults
    merged = {f: values.get(f, getattr(base, f)) for f in SLA_FIELDS}
    _sla_check(merged)
    with transaction.atomic():
        before = {f: _plain(getattr(current, f)) for f in SLA_FIELDS} if current else {}
        policy, _ = SlaPolicy.objects.update_or_create(organisation=organisation, severity=severity,
                                                      defaults=merged)
        audit_record(actor=actor, action="sla_policy.set", object_type="sla_policy",
                     object_ref=f"{organisation.code}:{severity}", organisation=organisation, before=before,
                     after={f: _plain(v) for f, v in merged.items()})
    return policy


def sla_policy_clear(*, organisation: Organisation, severity: str, actor: Actor) -> bool:
    """Drop a province's override so the national policy applies again; the national rows stay."""
    if organisation.parent_id is None:
        raise ValidationError("The national policy can be changed but not removed.")
    with transaction.atomic():
        current = SlaPolicy.objects.select_for_update().filter(organisation=organisation, severity=severity).first()
        if current is None:
            return False
        audit_record(actor=actor, action="sla_policy.cleared", object_type="sla_policy",
                     object_ref=f"{organisation.code}:{severity}", organisation=organisation,
                     before={f: _plain(getattr(current, f)) for f in SLA_FIELDS})
        current.delete()
    return True


def _plain(value: Any) -> Any:
    """JSON-safe values for the audit log (times as HH:MM)."""
    return value.strftime("%H:%M") if hasattr(value, "strftime") else value
