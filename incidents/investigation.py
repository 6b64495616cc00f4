"""The investigation timeline: an incident's events and alerts, by their own time, interleaved with what people
did about it (comments, status changes, requests for action, evidence, observables, hand-overs, other changes).

Reads only, always for one incident the caller already fetched in the user's scope (``incident_get``). The cost
does not grow with the number of items per source beyond one query each: the timeline entries, the comment
bodies and request instructions they point at, the alerts; the events are one bounded search through the one
scoped search (``selectors.event_hits``). Each source is capped at ``SOURCE_CAP`` newest rows, and the result
says when a cap was reached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from elasticsearch import ApiError, TransportError

from accounts.times import local_stamp
from incidents.models import Comment, Incident, ObservableKind, RequestForAction, Status, TimelineEntry
from incidents.selectors import event_hits, incident_children
from organisations.access import Owner
from organisations.selectors import AnyUser

log = logging.getLogger(__name__)

# The kinds a reader filters on, in the order the filter shows them.
KINDS: dict[str, Any] = {
    "event": gettext_lazy("Events"),
    "alert": gettext_lazy("Alerts"),
    "comment": gettext_lazy("Comments"),
    "status": gettext_lazy("Status changes"),
    "task": gettext_lazy("Tasks and requests for action"),
    "evidence": gettext_lazy("Evidence"),
    "observable": gettext_lazy("Observables"),
    "handover": gettext_lazy("Hand-overs"),
    "change": gettext_lazy("Other changes"),
}
# Which kind each timeline entry (incidents.timeline.record's ``kind``) is; anything else is a "change".
ENTRY_KINDS = {
    "comment.added": "comment", "incident.status_changed": "status", "attachment.added": "evidence",
    "observable.added": "observable", "incident.handed_over": "handover",
}
# Requests for action, the tasks they grew into and the playbooks that make tasks (incidents.services.tasks).
TASK_ENTRIES = ("request.", "task.", "playbook.")
SOURCE_CAP = 5000  # newest rows read per source
# What is read of each alert: the timeline's items and the incident page's alert lists (one read for both).
ALERT_COLUMNS = ("pk", "first_seen", "last_seen", "severity", "entity_kind", "entity_value", "count", "techniques",
                 "event_refs", "group", "evidence_index")
EVENT_LIMIT = 100  # events read per timeline (one search): the alerts keep at most 100 references each


@dataclass
class Item:
    """One line of the timeline. ``values`` hold the facts; ``text()`` words them in the active language."""

    at: datetime
    kind: str
    action: str
    ref: str
    actor: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])

    def text(self) -> str:
        return describe(self)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "action": self.action, "ref": self.ref,
                "actor": self.actor, "text": self.text(), "values": self.values}


@dataclass
class Timeline:
    items: list[Item]
    truncated: bool = False  # a source had more than SOURCE_CAP rows: the oldest are left out
    events_unavailable: bool = False  # the event search failed: the rest is shown without events
    # Every alert of the incident (ALERT_COLUMNS and ``rule_name``, newest first seen first) when the chosen kinds
    # needed them and none was left out; else None. The incident page lists its alerts from these.
    alerts: list[dict[str, Any]] | None = None


def kinds_from(raw: Iterable[str]) -> set[str]:
    """The known kinds among ``raw``; none given (or none known) means all."""
    chosen = {kind for kind in raw if kind in KINDS}
    return chosen or set(KINDS)


def investigation_timeline(*, user: AnyUser, incident: Incident, kinds: Collection[str] | None = None,
                           newest_first: bool = True) -> Timeline:
    """Every item of the chosen kinds, sorted by time (ties by source, then by id: the order they were made)."""
    wanted = set(kinds or KINDS)
    timeline = Timeline(items=[])
    if wanted - {"event", "alert"}:
        timeline.items += _entry_items(incident, wanted, timeline)
    if wanted & {"event", "alert"}:
        alerts = [dict(row) for row in incident.detection_alerts.order_by("-first_seen", "-id").values(
            *ALERT_COLUMNS, rule_name=F("rule__name"))[:SOURCE_CAP + 1]]
        timeline.truncated |= len(alerts) > SOURCE_CAP
        timeline.alerts = alerts if len(alerts) <= SOURCE_CAP else None
        if "alert" in wanted:
            timeline.items += [_alert_item(alert) for alert in alerts[:SOURCE_CAP]]
        if "event" in wanted:
            timeline.items += _event_items(user, alerts[:SOURCE_CAP], timeline)
    timeline.items.sort(key=lambda item: (item.at, *_tie(item.ref)), reverse=newest_first)
    return timeline


def _tie(ref: str) -> tuple[str, int, str]:
    """"entry-9" before "entry-10": ids compare as numbers."""
    source, _dash, rest = ref.partition("-")
    return source, int(rest) if rest.isdigit() else 0, rest


def _entry_items(incident: Incident, wanted: set[str], timeline: Timeline) -> list[Item]:
    entries = incident_children(TimelineEntry, incident=incident, order=("-created_at", "-id"), limit=SOURCE_CAP + 1)
    timeline.truncated |= len(entries) > SOURCE_CAP
    items = [entry_item(entry) for entry in entries[:SOURCE_CAP]]
    items = [item for item in items if item.kind in wanted]
    join_bodies(items)
    return items


def entry_item(entry: TimelineEntry) -> Item:
    values = {"before": entry.before, "after": entry.after}
    kind = ENTRY_KINDS.get(entry.kind) or ("task" if entry.kind.startswith(TASK_ENTRIES) else "change")
    return Item(at=entry.created_at, kind=kind, action=entry.kind, ref=f"entry-{entry.pk}", actor=entry.actor_name,
                values=values)


def join_bodies(items: list[Item]) -> None:
    """Comment bodies and request instructions: the entries name them by id; one query each for all items."""
    comment_ids = {item.values["after"].get("comment") for item in items if item.action == "comment.added"}
    bodies = dict(Comment.objects.filter(pk__in=comment_ids - {None}).values_list("pk", "body")) \
        if comment_ids else {}
    request_ids = {_task_id(item) for item in items if item.kind == "task"}
    instructions = dict(RequestForAction.objects.filter(pk__in=request_ids - {None})
                        .values_list("pk", "instructions")) if request_ids else {}
    for item in items:
        after = item.values["after"]
        if item.action == "comment.added":
            item.values["body"] = bodies.get(after.get("comment"), "")
        elif item.kind == "task" and _task_id(item) in instructions:
            item.values["instructions"] = instructions[_task_id(item)]


def _task_id(item: Item) -> Any:
    """Requests name themselves "request" in their entries, tasks "task" (the same rows)."""
    after = item.values["after"]
    return after.get("request") or after.get("task")


def _alert_item(alert: dict[str, Any]) -> Item:
    return Item(at=alert["first_seen"], kind="alert", action="alert", ref=f"alert-{alert['pk']}",
                values={"rule": alert["rule_name"], "severity": alert["severity"],
                        "entity_kind": alert["entity_kind"], "entity_value": alert["entity_value"],
                        "count": alert["count"], "techniques": alert["techniques"],
                        "last_seen": alert["last_seen"].isoformat()})


def _event_items(user: AnyUser, alerts: list[dict[str, Any]], timeline: Timeline) -> list[Item]:
    refs = [ref for alert in alerts for ref in alert["event_refs"]]
    try:
        hits = event_hits(user=user, refs=refs, limit=EVENT_LIMIT)
    except (ApiError, TransportError):  # the workflow half stays readable when the search cluster is not
        log.warning("events of an investigation timeline not read", exc_info=True)
        timeline.events_unavailable = True
        return []
    items = []
    for event_id, source in hits.items():
        moment = _moment(source.get("@timestamp"))
        if moment is not None:
            items.append(Item(at=moment, kind="event", action="event", ref=f"event-{event_id}",
                              values=_event_values(source)))
    return items


def _stamp(raw: Any) -> str:
    """A stored ISO time (UTC) as a person reads it, in the active zone."""
    moment = _moment(raw)
    return local_stamp(moment) if moment is not None and moment.tzinfo is not None else str(raw or "—")


def _moment(raw: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        return None


def _event_values(source: dict[str, Any]) -> dict[str, Any]:
    def pick(path: str) -> Any:
        node: Any = source
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node
    return {name: pick(path) for name, path in (
        ("host", "host.name"), ("source_ip", "source.ip"), ("user", "user.name"), ("action", "event.action"),
        ("outcome", "event.outcome"), ("message", "message"))}


def describe(item: Item) -> str:
    """One line of plain text for a reader, in the active language. The caller escapes it (log content)."""
    writer = WRITERS.get(item.action)
    return writer(item) if writer else _generic(item)


def _status(value: Any) -> str:
    return str(dict(Status.choices).get(value, value or "—"))


def _owner(value: Any) -> str:
    return str(dict(Owner.choices).get(value, value or "—"))


def _generic(item: Item) -> str:
    after = item.values.get("after") or {}
    details = ", ".join(f"{name}={_short(value)}" for name, value in after.items())
    return f"{item.action}: {details}" if details else item.action


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _created(item: Item) -> str:
    return _("Incident opened: %(title)s") % {"title": item.values["after"].get("title", "")}


def _status_changed(item: Item) -> str:
    before, after = item.values.get("before") or {}, item.values["after"]
    text = _("Status %(old)s → %(new)s") % {"old": _status(before.get("status")), "new": _status(after.get("status"))}
    summary = after.get("resolution_summary")
    return f"{text}: {summary}" if summary else text


def _assigned(item: Item) -> str:
    return _("Assigned to %(user)s") % {"user": item.values["after"].get("assignee") or "—"}


def _handed_over(item: Item) -> str:
    return _("Ownership %(old)s → %(new)s") % {"old": _owner((item.values.get("before") or {}).get("owner")),
                                                "new": _owner(item.values["after"].get("owner"))}


def _edited(item: Item) -> str:
    return _("Edited: %(changes)s") % {"changes": ", ".join(
        f"{name}={_short(value)}" for name, value in item.values["after"].items())}


def _merged(item: Item) -> str:
    return _("Incident %(duplicate)s merged into this one") % {"duplicate": item.values["after"].get("duplicate")}


def _comment(item: Item) -> str:
    return str(item.values.get("body", ""))


def _observable(item: Item) -> str:
    after = item.values["after"]
    return f"{dict(ObservableKind.choices).get(after.get('kind'), after.get('kind'))}: {after.get('value', '')}"


def _attachment(item: Item) -> str:
    after = item.values["after"]
    return _("%(name)s (%(size)s bytes, SHA-256 %(sha256)s)") % {
        "name": after.get("name", ""), "size": after.get("size", "?"), "sha256": after.get("sha256", "")}


def _request_sent(item: Item) -> str:
    after = item.values["after"]
    return _("Request for action #%(id)s sent (due %(due)s): %(instructions)s") % {
        "id": after.get("request", "?"), "due": _stamp(after.get("due_at")),
        "instructions": _short(item.values.get("instructions", ""))}


def _request_updated(item: Item) -> str:
    after = item.values["after"]
    text = _("Request for action #%(id)s: %(status)s") % {"id": after.get("request", "?"),
                                                         "status": after.get("status", "?")}
    return f"{text} — {after['note']}" if after.get("note") else text


def _request_escalated(item: Item) -> str:
    return _("A request for action is overdue: escalated to the central SOC")


def _task_updated(item: Item) -> str:
    after = dict(item.values["after"])
    number, title = after.pop("task", "?"), after.pop("title", "")
    after.pop("owner", None)
    return _("Task #%(id)s %(title)s: %(changes)s") % {"id": number, "title": title, "changes": ", ".join(
        f"{name}={_short(value)}" for name, value in after.items())}


def _playbook_applied(item: Item) -> str:
    after = item.values["after"]
    return _("Playbook %(playbook)s (version %(version)s) applied: %(count)s tasks") % {
        "playbook": after.get("playbook", "?"), "version": after.get("version", "?"),
        "count": len(after.get("tasks") or [])}


def _playbook_retired(item: Item) -> str:
    return _("%(count)s tasks no longer applicable") % {"count": len(item.values["after"].get("not_applicable") or [])}


def _alert(item: Item) -> str:
    v = item.values
    text = _("%(rule)s: %(kind)s %(value)s, %(count)s matching events") % {
        "rule": v["rule"], "kind": v["entity_kind"], "value": v["entity_value"], "count": v["count"]}
    return f"{text} ({', '.join(v['techniques'])})" if v.get("techniques") else text


def _event(item: Item) -> str:
    v = item.values
    parts = [str(v[name]) for name in ("host", "source_ip", "user", "action", "outcome") if v.get(name)]
    return " · ".join([*parts, _short(v.get("message") or "", 500)])


WRITERS = {
    "incident.created": _created, "incident.status_changed": _status_changed, "incident.assigned": _assigned,
    "incident.handed_over": _handed_over, "incident.edited": _edited, "incident.merged": _merged,
    "comment.added": _comment, "observable.added": _observable, "attachment.added": _attachment,
    "request.sent": _request_sent, "request.updated": _request_updated, "request.escalated": _request_escalated,
    "task.updated": _task_updated, "playbook.applied": _playbook_applied, "playbook.retired": _playbook_retired,
    "alert": _alert, "event": _event,
}


def item_message(item: Item) -> dict[str, Any]:
    """What a console is sent about a new item: the facts and the line in every interface language, since the
    consoles listening may read either."""
    texts, labels = {}, {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code], labels[code] = item.text(), item.kind_label
    return {**item.as_dict(), "text": texts, "kind_label": labels}
