"""SLA clocks: due times per severity from the national policy, overridden per province."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from incidents.models import ACKNOWLEDGED, CONTAINED_OR_LATER, RESOLVED_OR_LATER, Incident, Severity, SlaPolicy
from organisations.models import Organisation

MINUTE = 1
HOUR = 60
DAY = 24 * HOUR


@dataclass(frozen=True)
class Targets:
    acknowledge_minutes: int
    contain_minutes: int
    resolve_minutes: int
    business_hours: tuple[time, time] | None = None  # (start, end) local, Monday to Friday


# Used when no SlaPolicy row exists at any level of the tree.
DEFAULT_TARGETS: dict[str, Targets] = {
    Severity.CRITICAL: Targets(15 * MINUTE, 4 * HOUR, 1 * DAY),
    Severity.HIGH: Targets(30 * MINUTE, 8 * HOUR, 3 * DAY),
    Severity.MEDIUM: Targets(4 * HOUR, 1 * DAY, 7 * DAY),
    Severity.LOW: Targets(1 * DAY, 3 * DAY, 30 * DAY),
}


def sla_targets(*, province: Organisation, severity: str) -> Targets:
    """The deepest policy on the path from the national SOC to ``province`` wins."""
    codes = province.path.strip("/").split("/")
    policy = (SlaPolicy.objects.filter(organisation__code__in=codes, severity=severity)
              .select_related("organisation").order_by("-organisation__path").first())
    if policy is None:
        return DEFAULT_TARGETS[severity]
    hours = (policy.business_day_start, policy.business_day_end) if policy.business_hours_only else None
    return Targets(policy.acknowledge_minutes, policy.contain_minutes, policy.resolve_minutes, hours)


def set_sla_due(incident: Incident, *, start: datetime) -> None:
    """Fill the three due times (caller saves)."""
    targets = sla_targets(province=incident.province, severity=incident.severity)
    incident.ack_due_at = due_after(start, targets.acknowledge_minutes, targets.business_hours)
    incident.contain_due_at = due_after(start, targets.contain_minutes, targets.business_hours)
    incident.resolve_due_at = due_after(start, targets.resolve_minutes, targets.business_hours)


def due_after(start: datetime, minutes: int, business_hours: tuple[time, time] | None) -> datetime:
    """``start`` plus ``minutes`` of clock time: all the time, or only business hours when given.

    Local times are built with ``replace`` on the local datetime: exact for Asia/Ho_Chi_Minh (no DST)."""
    if business_hours is None:
        return start + timedelta(minutes=minutes)
    opens, closes = business_hours
    cursor, left = timezone.localtime(start), timedelta(minutes=minutes)
    while True:
        day_open = cursor.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
        day_close = cursor.replace(hour=closes.hour, minute=closes.minute, second=0, microsecond=0)
        if cursor.weekday() >= 5 or cursor >= day_close:
            cursor = _next_day_opening(cursor, opens)
            continue
        cursor = max(cursor, day_open)
        if cursor + left <= day_close:
            return cursor + left
        left -= day_close - cursor
        cursor = _next_day_opening(cursor, opens)


def _next_day_opening(moment: datetime, opens: time) -> datetime:
    following = timezone.localtime(moment) + timedelta(days=1)
    return following.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)


def clock_stops(status: str, now: datetime) -> dict[str, datetime]:
    """The SLA timestamps that a move to ``status`` sets (only where still empty; see services)."""
    stops: dict[str, datetime] = {}
    if status in ACKNOWLEDGED:
        stops["acknowledged_at"] = now
    if status in CONTAINED_OR_LATER:
        stops["contained_at"] = now
    if status in RESOLVED_OR_LATER:
        stops["resolved_at"] = now
    return stops
