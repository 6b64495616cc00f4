"""Measures read from PostgreSQL: collectors (Connected) and incidents (Response).

Each measure is its own function; one with nothing to measure (no incidents,
no stamps yet) is reported as unavailable (None).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from statistics import mean
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from collectors.models import Collector
from incidents.models import Incident, RequestForAction, RequestStatus
from organisations.models import Organisation
from readiness.windows import Window


@dataclass
class CollectorInfo:
    uid: str
    name: str
    last_seen_at: str | None


def collectors_enrolled(*, province: Organisation, window: Window) -> list[CollectorInfo]:
    """Collectors of the province's subtree enrolled before the day ended and not revoked by then."""
    contacts = ["last_seen_at", "last_heartbeat_at"]
    rows = (Collector.objects.filter(organisation__path__startswith=province.path, created_at__lt=window.end)
            .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gte=window.end))
            .order_by("name").values("uid", "name", *contacts))
    return [CollectorInfo(uid=str(r["uid"]), name=r["name"], last_seen_at=_last_contact(r, contacts, window))
            for r in rows]


def _last_contact(row: dict[str, Any], fields: list[str], window: Window) -> str | None:
    """The latest batch or heartbeat before the day's end; a contact after the day says nothing about it."""
    before = [row[f] for f in fields if row[f] is not None and row[f] < window.end]
    return max(before).isoformat() if before else None


@dataclass
class ResponseMeasures:
    incidents: int = 0
    mtta_s: float | None = None
    mttr_s: float | None = None
    sla_compliance: float | None = None
    requests_due: int | None = None
    requests_overdue: int | None = None
    self_filed: int | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def response_measures(*, province: Organisation, window: Window) -> ResponseMeasures:
    """Incident handling over the RESPONSE_DAYS ending with the day."""
    incidents = Incident.objects.filter(province__path__startswith=province.path,
                                        created_at__gte=window.response_start, created_at__lt=window.end)
    measures = ResponseMeasures(incidents=incidents.count())
    measures.mtta_s = mean_delay(incidents, "acknowledged_at", window.end)
    measures.mttr_s = mean_delay(incidents, "resolved_at", window.end)
    # A day in progress (today's scorecard) stands as it is now: a due time still ahead is not yet missed.
    measures.sla_compliance = sla_compliance(incidents, min(window.end, timezone.now()))
    measures.requests_due, measures.requests_overdue = requests_overdue(province=province, window=window)
    measures.self_filed = self_filed(incidents, province)
    return measures


def mean_delay(incidents: models.QuerySet[Incident], stamp: str, end: datetime) -> float | None:
    """Mean seconds from creation to ``stamp`` (acknowledged_at, resolved_at) for those stamped by ``end``."""
    rows = incidents.filter(**{f"{stamp}__lt": end}).values_list("created_at", stamp)
    delays = [(stamped - created).total_seconds() for created, stamped in rows]
    return round(mean(delays), 1) if delays else None


def sla_compliance(incidents: models.QuerySet[Incident], end: datetime) -> float | None:
    """Share of incidents whose acknowledge and resolve clocks, as they stood at ``end``, were met."""
    clocks = [("ack_due_at", "acknowledged_at"), ("resolve_due_at", "resolved_at")]
    rows = list(incidents.values(*[name for pair in clocks for name in pair]))
    if not rows:
        return None
    met = sum(1 for row in rows if not any(_breached(row[due], row[done], end) for due, done in clocks))
    return met / len(rows)


def _breached(due: datetime | None, done: datetime | None, end: datetime) -> bool:
    if due is None:
        return False
    stopped = done if done is not None and done < end else None
    return stopped > due if stopped is not None else due < end


def requests_overdue(*, province: Organisation, window: Window) -> tuple[int, int]:
    """Requests for action due in the response window, and those not done by their due time (as at the end).

    A province answers for its own tasks only (not the central SOC's on its incidents), and not for a step
    the centre marked not applicable. A day in progress counts those due by now: a playbook's task due this
    evening is not late at noon."""
    until = min(window.end, timezone.now())
    due = (RequestForAction.objects.requests()
           .filter(province__path__startswith=province.path, due_at__gte=window.response_start, due_at__lt=until)
           .exclude(status=RequestStatus.NOT_APPLICABLE))
    return due.count(), due.filter(Q(done_at__isnull=True) | Q(done_at__gte=window.end)).count()


def self_filed(incidents: models.QuerySet[Incident], province: Organisation) -> int:
    """Incidents reported by a member of the province itself (provincial intake)."""
    return incidents.filter(reported_by__memberships__organisation__path__startswith=province.path).distinct().count()
