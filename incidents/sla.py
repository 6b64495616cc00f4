"""SLA clocks: due times per severity from the national policy, overridden per province."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
    return Targets(policy.acknowledge_minutes, policy.contain_minutes, policy.resolve_minutes)


def set_sla_due(incident: Incident, *, start: datetime) -> None:
    """Fill the three due times (caller saves). Business hours are not modelled: clocks run 24/7."""
    targets = sla_targets(province=incident.province, severity=incident.severity)
    incident.ack_due_at = start + timedelta(minutes=targets.acknowledge_minutes)
    incident.contain_due_at = start + timedelta(minutes=targets.contain_minutes)
    incident.resolve_due_at = start + timedelta(minutes=targets.resolve_minutes)


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
