"""Writes to incidents. Keyword-only; callers are views, the API, tasks and consumers."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from incidents.models import OPEN_STATUSES, Category, Incident, IncidentSequence, Severity
from organisations.models import Organisation
from soc.live import broadcast_after_commit


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
) -> Incident:
    with transaction.atomic():
        key = _next_key(province=province, year=timezone.localdate().year)
        incident = Incident.objects.create(
            key=key, title=title, description=description, category=category,
            severity=severity, province=province, dedup_key=dedup_key, last_seen_at=timezone.now(),
        )
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
