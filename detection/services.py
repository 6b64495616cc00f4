"""Running detection rules: checkpointed, locked per rule, idempotent.

Preconditions: a rule run holds its rule's row lock (SELECT ... FOR UPDATE
SKIP LOCKED) for the whole run, so two schedulers or workers never evaluate
the same rule at once; alerts are written with deterministic ids and
``op_type: create``, so even a run repeated after a crash makes no twin.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone as dj_timezone

from collectors.agent.parsers.base import isoformat_utc
from detection.engine import Burst, ThresholdParams, candidate_groups, find_bursts, group_timestamps
from detection.models import DetectionRule, GroupState, RuleRun
from incidents.services import incident_open_or_touch_for_detection
from organisations.models import Organisation
from soc import es

log = logging.getLogger(__name__)
# Events may reach Elasticsearch a little after their own timestamp.
INGEST_DELAY = timedelta(seconds=2)
# Never look further back than this on a first run or after a long outage.
MAX_LOOKBACK = timedelta(hours=24)


def due_rule_ids(*, now: datetime) -> list[int]:
    return list(
        DetectionRule.objects.filter(enabled=True)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .values_list("id", flat=True)
    )


def rule_run(*, rule_id: int, now: datetime | None = None) -> RuleRun | None:
    """Evaluate one rule from its checkpoint to now; None when another run holds it."""
    now = now or dj_timezone.now()
    with transaction.atomic():
        rule = DetectionRule.objects.select_for_update(skip_locked=True).filter(pk=rule_id, enabled=True).first()
        if rule is None:
            return None
        return _evaluate(rule, now)


def _evaluate(rule: DetectionRule, now: datetime) -> RuleRun:
    params = ThresholdParams.from_dict(rule.params)
    end = now - INGEST_DELAY
    checkpoint = max(rule.checkpoint or end - params.window, end - MAX_LOOKBACK)
    start = checkpoint - params.window
    run = RuleRun(rule=rule, started_at=now, range_start=start, range_end=end)
    began = time.monotonic()
    try:
        run.hits, run.alerts = _threshold(rule, params, start, end)
        rule.checkpoint = end
    except Exception as exc:
        log.exception("rule %s failed", rule.pk)
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
    run.duration_ms = int((time.monotonic() - began) * 1000)
    rule.next_run_at = now + timedelta(seconds=rule.interval_seconds)
    rule.save(update_fields=["checkpoint", "next_run_at"])
    run.save()
    return run


def _threshold(rule: DetectionRule, params: ThresholdParams, start: datetime, end: datetime) -> tuple[int, int]:
    client, index = es.client(), es.events_pattern()
    group_by = params.group_by if "organization.id" in params.group_by else ("organization.id", *params.group_by)
    params = ThresholdParams(query=params.query, group_by=group_by, count=params.count, window=params.window)
    hits = alerts = 0
    for group in candidate_groups(client, index, params, start, end):
        key = json.dumps(group, sort_keys=True)
        state = GroupState.objects.filter(rule=rule, group_key=key).first()
        events = group_timestamps(client, index, params, group, start, end)
        hits += len(events)
        for burst in find_bursts(events, params, group, state.consumed_until if state else None):
            _raise_alert(rule, burst)
            alerts += 1
            GroupState.objects.update_or_create(rule=rule, group_key=key,
                                                defaults={"consumed_until": burst.last})
    return hits, alerts


def alert_id(rule: DetectionRule, burst: Burst) -> str:
    """Same rule, group and first event: same id, whoever computes it."""
    raw = json.dumps([rule.pk, burst.group, isoformat_utc(burst.first)], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _raise_alert(rule: DetectionRule, burst: Burst) -> None:
    org = Organisation.objects.get(code=burst.group["organization.id"])
    entity = ", ".join(f"{k}={v}" for k, v in burst.group.items() if k != "organization.id")
    doc = {
        "@timestamp": isoformat_utc(burst.last),
        "rule": {"id": str(rule.pk), "name": rule.name},
        "organization": {"id": org.code},
        "alert": {"first": isoformat_utc(burst.first), "last": isoformat_utc(burst.last), "count": burst.count},
        "group": burst.group,
        "event_refs": burst.event_ids[:100],
    }
    created = _write_alert(alert_id(rule, burst), doc, burst.first)
    if not created:
        return
    incident_open_or_touch_for_detection(
        province=org, dedup_key=f"rule:{rule.pk}:{org.code}:{entity}",
        title=f"{rule.name}: {entity}",
        description=f"{burst.count} matching events between {isoformat_utc(burst.first)} and "
                    f"{isoformat_utc(burst.last)}.",
        severity=rule.severity, category=rule.category, seen_at=burst.last,
    )


def _write_alert(doc_id: str, doc: dict[str, Any], first: datetime) -> bool:
    """True when this alert is new; False when an earlier run already wrote it.

    The index comes from the burst's own time, so a rerun lands in the same index.
    """
    resp = es.client().options(ignore_status=409).index(
        index=es.index_name("alerts", first), id=doc_id, document=doc, op_type="create")
    return resp.meta.status in (200, 201)

