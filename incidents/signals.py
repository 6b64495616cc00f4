"""Signals incidents sends so that apps built on it can follow along without incidents importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by ``incident_merge`` inside its transaction, with both rows locked, after incidents' own rows have
# moved; kwargs ``duplicate`` and ``survivor`` (Incident). Receivers move whatever of theirs points at the
# duplicate (detection: its alerts) and must not commit or broadcast themselves.
incident_merging = Signal()

# Sent by ``playbook_apply`` inside its transaction, after a playbook's steps became tasks of an incident (bulk
# inserted, so no ``post_save``); kwargs ``incident``, ``tasks`` (the new RequestForAction rows) and ``playbook``
# (the PlaybookVersion). Notifications tells the province about its new tasks, once per application.
tasks_added = Signal()

# Sent by ``task_update`` inside its transaction when a task gets a new assignee; kwargs ``task``, ``assignee``.
task_assigned = Signal()
