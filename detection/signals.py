"""Detection follows incidents' merges: alerts of a merged duplicate move to the survivor."""

from __future__ import annotations

from typing import Any

from detection.models import Alert
from incidents.models import Incident
from incidents.signals import incident_merging


def _move_alerts(sender: Any, *, duplicate: Incident, survivor: Incident, **kwargs: Any) -> None:
    Alert.objects.filter(incident=duplicate).update(incident=survivor)


def connect() -> None:
    incident_merging.connect(_move_alerts, dispatch_uid="detection.move_alerts_on_merge")
