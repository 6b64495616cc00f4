"""Signals incidents sends so that apps built on it can follow along without incidents importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by ``incident_merge`` inside its transaction, with both rows locked, after incidents' own rows have
# moved; kwargs ``duplicate`` and ``survivor`` (Incident). Receivers move whatever of theirs points at the
# duplicate (detection: its alerts) and must not commit or broadcast themselves.
incident_merging = Signal()
