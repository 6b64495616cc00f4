"""What consoles are told when incidents change: one row summary, sent after commit (soc.live)."""

from __future__ import annotations

from incidents.investigation import entry_item, item_message, join_bodies
from incidents.models import Incident, TimelineEntry
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


def broadcast_timeline(entries: list[TimelineEntry]) -> None:
    """Each new timeline entry, as the investigation timeline shows it, to whoever may see its incident."""
    items = [entry_item(entry) for entry in entries]
    join_bodies(items)
    broadcast_many_after_commit(messages=[
        (entry.incident.province, {"kind": "timeline.item", "incident": entry.incident.key, "item": item_message(item)})
        for entry, item in zip(entries, items, strict=True)])
