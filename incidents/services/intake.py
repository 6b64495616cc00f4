"""How incidents come in: opened or touched by detection, created by analysts, filed by provinces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from incidents.models import OPEN_STATUSES, Category, Incident, IncidentSequence, Playbook, Severity
from incidents.services.live import broadcast_many_updated, broadcast_updated, incident_summary
from incidents.services.playbooks import playbook_apply, playbook_for
from incidents.services.workflow import TECHNIQUE
from incidents.sla import set_sla_due as _set_sla_due
from incidents.timeline import record as _record
from organisations.actors import Actor
from organisations.models import Organisation
from soc.live import broadcast_after_commit


def _next_key(*, province: Organisation, year: int) -> str:
    """HNI-2026-0042. Caller holds a transaction; the row lock serialises numbering."""
    seq, _ = IncidentSequence.objects.select_for_update().get_or_create(province=province, year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{province.code}-{year}-{seq.last:04d}"


def incident_create(
    *,
    province: Organisation,
    title: str,
    description: str = "",
    category: str = Category.OTHER,
    severity: str = Severity.MEDIUM,
    dedup_key: str = "",
    actor: Actor | None = None,
    playbook: Playbook | None = None,
    **intake: Any,
) -> Incident:
    """``intake`` carries the provincial form's fields (reported_by, affected_systems, occurred_at, contact).

    Every way in ends here, so every new incident gets its tasks here: those of ``playbook`` (detection passes
    the rule's), otherwise of its category's default playbook (incidents.services.playbooks)."""
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
        opened = {"title": title, "severity": severity, "category": category, "province": province.code}
        if intake.get("mitre_techniques"):
            opened["mitre_techniques"] = intake["mitre_techniques"]
        _record(incident, actor=actor, kind="incident.created", after=opened)
        broadcast_after_commit(
            organisation=province, message={"kind": "incident.created", "incident": incident_summary(incident)}
        )
        playbook = playbook or playbook_for(category=category)
        if playbook is not None:
            playbook_apply(incident=incident, playbook=playbook, actor=actor, reason="opened")
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
    playbook: Playbook | None = None,
    techniques: list[str] | None = None,
) -> tuple[Incident, bool]:
    """One open incident per dedup key: the first alert opens it, later ones touch it. ``playbook``: the one
    the opening rule names, if any (else the category's, see ``incident_create``); ``techniques``: the opening
    rule's ATT&CK ids, set as it opens (in its one "created" entry, not an update after it).

    Safe under concurrency: the partial unique constraint makes a racing twin
    fail, and the loser re-reads the winner's incident.
    """
    existing = Incident.objects.select_related("province").filter(dedup_key=dedup_key,
                                                                  status__in=OPEN_STATUSES).first()
    if existing is None:
        try:
            with transaction.atomic():
                incident = incident_create(
                    province=province, title=title, description=description, category=category,
                    severity=severity, dedup_key=dedup_key, playbook=playbook,
                    mitre_techniques=_valid_techniques(techniques),
                )
                Incident.objects.filter(pk=incident.pk).update(alert_count=new_alerts)
                incident.alert_count = new_alerts
                return incident, True
        except IntegrityError:
            existing = Incident.objects.select_related("province").get(dedup_key=dedup_key,
                                                                       status__in=OPEN_STATUSES)
    _touch(existing, seen_at=seen_at, new_alerts=new_alerts)
    return existing, False


def incidents_touch_for_detection(*, touches: list[tuple[Incident, int, datetime]]) -> None:
    """(open incident, new alerts, latest seen) each: the counts and last-seen moments of a run's incidents in
    one statement, and one message each to open consoles. An attack wave touches hundreds a run."""
    if not touches:
        return
    rows = ", ".join(["(%s::bigint, %s::integer, %s::timestamptz)"] * len(touches))
    sql = (f"UPDATE {Incident._meta.db_table} AS i SET alert_count = i.alert_count + v.n, "  # noqa: S608 (no input)
           f"last_seen_at = GREATEST(i.last_seen_at, v.seen) FROM (VALUES {rows}) AS v(id, n, seen) "
           "WHERE i.id = v.id RETURNING i.id, i.alert_count, i.last_seen_at")
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for incident, count, seen in touches for value in (incident.pk, count, seen)])
        after = {pk: (count, seen) for pk, count, seen in cursor.fetchall()}
    for incident, _, _ in touches:
        incident.alert_count, incident.last_seen_at = after.get(incident.pk, (incident.alert_count,
                                                                              incident.last_seen_at))
    broadcast_many_updated([incident for incident, _, _ in touches])


def _valid_techniques(techniques: list[str] | None) -> list[str]:
    """ATT&CK ids as an analyst's edit would store them; descriptive only, so unknown spellings are left out."""
    return sorted({t.upper() for t in techniques or [] if TECHNIQUE.match(t.upper())})


def _touch(incident: Incident, *, seen_at: datetime, new_alerts: int) -> None:
    Incident.objects.filter(pk=incident.pk).update(alert_count=F("alert_count") + new_alerts, last_seen_at=seen_at)
    incident.refresh_from_db(fields=["alert_count", "last_seen_at"])
    broadcast_updated(incident)  # open consoles (the incident page, its investigation timeline) learn of new alerts


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
