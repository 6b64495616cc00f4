"""Findings become alerts, and alerts become incidents.

An alert is written twice under one deterministic id: an Elasticsearch
document (``op_type: create``, for search and retention with the events) and an
``Alert`` row (unique ``uid``) that decides whether this alert is new. Alerts
are grouped into incidents by province + entity (source IP, host or user): one
open incident per entity, across rules; a recently closed one is reopened
rather than twinned; a rule's suppression window keeps repeats off incidents.

Precondition: called inside the rule run's transaction, so a crash before
commit leaves neither the row nor the incident, and the re-run makes both once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from collectors.agent.parsers.base import isoformat_utc
from detection.engine import ORG, Finding, parse_time
from detection.models import Alert, DetectionRule
from incidents.models import Incident, Severity, Status
from incidents.services.intake import incident_open_or_touch_for_detection, incidents_touch_for_detection
from incidents.services.workflow import incident_change_status, incident_update
from organisations.actors import Actor
from organisations.models import Organisation
from soc import es

log = logging.getLogger(__name__)
# Which group field names the entity an incident is about, in order of preference.
ENTITY_FIELDS = (("source.ip", "ip"), ("client.ip", "ip"), ("user.name", "user"), ("user.target.name", "user"),
                 ("host.name", "host"), ("agent.name", "host"))
# A closed or resolved incident this recent is reopened by a new alert on its entity.
REOPEN_WINDOW = timedelta(hours=24)
SEVERITY_RANK = {s: n for n, s in enumerate((Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL))}


def alert_uid(rule: DetectionRule, finding: Finding) -> str:
    """Same rule, group and key (first event or first moment): same id, whoever computes it."""
    raw = json.dumps([rule.pk, finding.group, finding.key], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def entity_of(group: dict[str, str]) -> tuple[str, str]:
    for name, kind in ENTITY_FIELDS:
        if group.get(name):
            return kind, group[name]
    return "", ""


def alert_raise(*, rule: DetectionRule, finding: Finding) -> bool:
    """Store the alert and attach it to an incident; False when it already existed."""
    return bool(alerts_raise(rule=rule, findings=[finding]))


def alerts_raise(*, rule: DetectionRule, findings: list[Finding]) -> list[Finding]:
    """``alert_raise`` for a run's findings: those that made a new alert.

    The provinces are read once, the alerts already known are skipped with one read, and the new alerts'
    documents go to Elasticsearch in one bulk before any row is made (a row exists only once its document
    does: a document refused now is retried by the next run, whose row check does not know it). The rows are
    made in one statement, and each incident the run touches is opened or touched once, whatever the number of
    its new alerts: an attack wave costs a statement per incident, not a dozen per alert.
    """
    orgs = {o.code: o for o in Organisation.objects.filter(code__in={f.group.get(ORG, "") for f in findings})}
    # Events of an organisation this platform does not know cannot be routed.
    routed = {alert_uid(rule, f): (f, orgs[f.group[ORG]]) for f in findings if f.group.get(ORG) in orgs}
    # A look-back finds the same events run after run: the known alerts are skipped with one read, not one
    # each (a row exists only once its document does, so a known id needs nothing more).
    for uid in Alert.objects.filter(uid__in=list(routed)).values_list("uid", flat=True):
        del routed[uid]
    written = _write_documents([(uid, _document(rule, f, org)) for uid, (f, org) in routed.items()])
    # In time order: an alert is suppressed by an earlier one on its entity, made in this run or before.
    fresh = sorted(((uid, f, org) for uid, (f, org) in routed.items() if uid in written), key=lambda x: x[1].first)
    if not fresh:
        return []
    try:
        with transaction.atomic():  # a savepoint: the rows all made, or none
            made = _alerts_create(rule, fresh)
    except IntegrityError:
        # Another transaction stored one of them first (a rule's runs are kept apart by its row lock, a direct
        # ``alert_raise`` is not): one at a time, each knowing whether it won.
        made = [pair for pair in (_alert_create(rule, f, org, uid) for uid, f, org in fresh) if pair]
    _incidents_attach(rule, made)
    return [finding for _, finding in made]


def _alerts_create(rule: DetectionRule, fresh: list[tuple[str, Finding, Organisation]]) -> list[tuple[Alert, Finding]]:
    flags = _suppressed_flags(rule, [finding for _, finding, _ in fresh])
    alerts = [_alert_row(rule, finding, org, uid, suppressed)
              for (uid, finding, org), suppressed in zip(fresh, flags, strict=True)]
    Alert.objects.bulk_create(alerts)
    return [(alert, finding) for alert, (_, finding, _) in zip(alerts, fresh, strict=True)]


def _alert_create(rule: DetectionRule, finding: Finding, org: Organisation, uid: str) -> tuple[Alert, Finding] | None:
    """The alert's row; None when another transaction stored it first."""
    [suppressed] = _suppressed_flags(rule, [finding])
    alert = _alert_row(rule, finding, org, uid, suppressed)
    try:
        with transaction.atomic():
            alert.save(force_insert=True)
    except IntegrityError:
        return None
    return alert, finding


def _alert_row(rule: DetectionRule, finding: Finding, org: Organisation, uid: str, suppressed: bool) -> Alert:
    kind, value = entity_of(finding.group)
    return Alert(uid=uid, rule=rule, rule_version=rule.version, province=org, entity_kind=kind, entity_value=value,
                 group=finding.group, severity=rule.severity, tactics=rule.tactics, techniques=rule.techniques,
                 event_refs=finding.event_refs[:100], first_seen=finding.first, last_seen=finding.last,
                 count=finding.count, suppressed=suppressed)


def _suppressed_flags(rule: DetectionRule, findings: list[Finding]) -> list[bool]:
    """Per finding (in time order): whether an alert of the rule on its entity began within the suppression
    window before it, stored or earlier in ``findings``; one read for all of them."""
    if not rule.suppress_seconds:
        return [False] * len(findings)
    window = timedelta(seconds=rule.suppress_seconds)
    entities = {entity_of(finding.group) for finding in findings}
    began: dict[tuple[str, str], list[datetime]] = {}
    stored = Alert.objects.filter(rule=rule, suppressed=False, entity_value__in={value for _, value in entities},
                                  first_seen__gte=min(f.first for f in findings) - window,
                                  first_seen__lte=max(f.first for f in findings))
    for kind, value, first in stored.values_list("entity_kind", "entity_value", "first_seen"):
        if (kind, value) in entities:
            began.setdefault((kind, value), []).append(first)
    flags = []
    for finding in findings:
        entity = entity_of(finding.group)
        flags.append(any(finding.first - window <= first <= finding.first for first in began.get(entity, [])))
        if not flags[-1]:
            began.setdefault(entity, []).append(finding.first)
    return flags


def dedup_key(rule: DetectionRule, code: str, kind: str, value: str) -> str:
    """Province (its code) + entity, across rules; without an entity, province + rule."""
    if kind:
        return f"entity:{code}:{kind}:{value}"[:255]
    return f"rule:{rule.pk}:{code}"


def in_open_incidents(rule: DetectionRule, findings: list[Finding]) -> list[bool]:
    """Per finding: whether its province + entity already has an open incident (one read, on the open incidents'
    unique key): what is already being handled, as opposed to news."""
    keys = [dedup_key(rule, str(f.group.get(ORG)), *entity_of(f.group)) for f in findings]
    handled = set(Incident.objects.open().filter(dedup_key__in=set(keys)).values_list("dedup_key", flat=True))
    return [key in handled for key in keys]


def _incidents_attach(rule: DetectionRule, made: list[tuple[Alert, Finding]]) -> None:
    """Each unsuppressed alert joins its province + entity's incident. The incidents already open are read at
    once and touched in one statement (a storm's addresses have theirs); the others are reopened or opened one
    by one; the alerts are linked in one statement."""
    by_key: dict[str, list[tuple[Alert, Finding]]] = {}
    for alert, finding in made:
        if not alert.suppressed:
            key = dedup_key(rule, alert.province.code, alert.entity_kind, alert.entity_value)
            by_key.setdefault(key, []).append((alert, finding))
    if not by_key:
        return
    found = {incident.dedup_key: incident for incident in Incident.objects.open().select_related("province")
             .filter(dedup_key__in=list(by_key))}
    incidents_touch_for_detection(touches=[(found[key], len(members), max(f.last for _, f in members))
                                           for key, members in by_key.items() if key in found])
    for key, members in by_key.items():
        incident = found.get(key) or _incident_for(rule, key, members)
        if key in found:
            _escalate(incident, rule)
        for alert, _ in members:
            alert.incident = incident
    Alert.objects.bulk_update([alert for members in by_key.values() for alert, _ in members], ["incident"])


def _incident_for(rule: DetectionRule, key: str, members: list[tuple[Alert, Finding]]) -> Incident:
    alert, latest = members[0][0], max((finding for _, finding in members), key=lambda f: f.last)
    _reopen_recent(key, latest)
    subject = f"{alert.entity_kind} {alert.entity_value}" if alert.entity_kind else alert.province.code
    incident, created = incident_open_or_touch_for_detection(
        province=alert.province, dedup_key=key, title=f"{rule.name}: {subject}"[:300],
        description=_description(rule), severity=rule.severity, category=rule.category,
        seen_at=latest.last, new_alerts=len(members), playbook=rule.playbook, techniques=rule.techniques,
    )
    if not created:
        _escalate(incident, rule)
    return incident


def _reopen_recent(key: str, finding: Finding) -> None:
    if Incident.objects.open().filter(dedup_key=key).exists():
        return
    recent = (Incident.objects.filter(dedup_key=key, status__in=(Status.RESOLVED, Status.CLOSED),
                                      updated_at__gte=finding.last - REOPEN_WINDOW)
              .order_by("-updated_at").first())
    if recent is None:
        return
    try:
        with transaction.atomic():
            incident_change_status(incident=recent, status=Status.IN_PROGRESS, actor=Actor.system())
    except (ValidationError, IntegrityError):
        pass  # reopened (or replaced) by a concurrent run: the touch below finds the open one


def _escalate(incident: Incident, rule: DetectionRule) -> None:
    """A later alert of a worse rule raises the incident's severity and adds its techniques."""
    changes: dict[str, Any] = {}
    if SEVERITY_RANK.get(Severity(rule.severity), 0) > SEVERITY_RANK.get(Severity(incident.severity), 0):
        changes["severity"] = rule.severity
    techniques = sorted(set(incident.mitre_techniques or []) | set(rule.techniques))
    if techniques != sorted(incident.mitre_techniques or []):
        changes["mitre_techniques"] = techniques
    if changes:
        # Descriptive extras only: the alert and its incident stand without them.
        with contextlib.suppress(ValidationError):
            incident_update(incident=incident, actor=Actor.system(), changes=changes)


def _description(rule: DetectionRule) -> str:
    """Only the rule's own words: the facts (first and last seen, count, entity) stay on the alerts, and the
    incident page renders them in the reader's time zone, never as stored text with UTC stamps."""
    return rule.description


def _document(rule: DetectionRule, finding: Finding, org: Organisation) -> dict[str, Any]:
    kind, value = entity_of(finding.group)
    return {
        "@timestamp": isoformat_utc(finding.last),
        "rule": {"id": str(rule.pk), "name": rule.name, "kind": rule.kind, "version": rule.version},
        "organization": {"id": org.code},
        "alert": {"first": isoformat_utc(finding.first), "last": isoformat_utc(finding.last),
                  "count": finding.count, "severity": rule.severity},
        "entity": {"kind": kind, "value": value},
        "threat": {"tactic": {"name": rule.tactics}, "technique": {"id": rule.techniques}},
        "group": finding.group,
        "details": finding.details,
        "event_refs": finding.event_refs[:100],
    }


def _write_documents(documents: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """The ids whose document is now stored (written, or already there). Idempotent: the index comes from the
    alert's own time (history: the month it was raised in), so a rerun lands on the same document."""
    if not documents:
        return set()
    now, operations = timezone.now(), []
    for uid, doc in documents:
        index = es.alerts_index_name(parse_time(doc["alert"]["first"]), now)
        operations += [{"create": {"_index": index, "_id": uid}}, doc]
    items = es.client().bulk(operations=operations, refresh=False)["items"]
    stored = {item["create"]["_id"] for item in items if item["create"].get("status") in (200, 201, 409)}
    if len(stored) < len(documents):
        refused = next(item["create"] for item in items if item["create"]["_id"] not in stored)
        log.warning("%d of %d alert documents refused (%s); their runs retry them", len(documents) - len(stored),
                    len(documents), refused.get("error"))
    return stored
