"""What consoles are told when incidents change: one row summary, sent after commit (soc.live)."""

from __future__ import annotations

from incidents.models import Incident
from soc.live import broadcast_after_commit, broadcast_many_after_commit


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


def broadcast_updated(incident: Incident) -> None:
    broadcast_after_commit(organisation=incident.province,
                           message={"kind": "incident.updated", "incident": incident_summary(incident)})


def broadcast_many_updated(incidents: list[Incident]) -> None:
    broadcast_many_after_commit(messages=[
        (incident.province, {"kind": "incident.updated", "incident": incident_summary(incident)})
        for incident in incidents])
