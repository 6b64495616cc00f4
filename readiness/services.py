"""Writes of the readiness app: compute and store scorecards, set targets, publish periods."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Kind, Organisation
from organisations.services import audit_record
from readiness import measures as m
from readiness.actions import actions_for
from readiness.es_measures import EventMeasures, event_measures
from readiness.models import SOURCE_KINDS, ProvinceTarget, PublishedPeriod, ReadinessSnapshot
from readiness.scoring import composite, dimension_scores, level_for
from readiness.selectors import (
    day_is_computed,
    days_incomplete,
    policy_current,
    province_subtree_codes,
)
from readiness.sql_measures import collectors_enrolled, response_measures
from readiness.windows import Window, days_between, window_for

log = logging.getLogger(__name__)
# Events of the last minutes of a day may still be on their way: wait this long after local midnight.
SETTLE = timedelta(hours=1)


class ReadinessError(ValueError):
    """Bad input to a readiness service; the message is safe to show."""


def scorecards_compute(*, day: date, provinces: list[Organisation] | None = None) -> list[ReadinessSnapshot]:
    """Compute and store the scorecard of every province (or the given ones) for one local day.

    Idempotent: a second run for the same day replaces the day's snapshots.
    Elasticsearch is read once (one _msearch for all provinces), before any write.
    """
    provinces = provinces if provinces is not None else list(Organisation.objects.provinces().order_by("code"))
    window = window_for(day)
    events = event_measures(provinces=province_subtree_codes(provinces), window=window)
    targets = {t.province_id: t for t in ProvinceTarget.objects.filter(province__in=provinces)}
    policy = policy_current()
    snapshots = []
    with transaction.atomic():
        for province in provinces:
            measures = province_measures(province=province, events=events[province.code],
                                         target=targets.get(province.pk), window=window)
            scores = dimension_scores(measures)
            score = composite(scores, policy)
            snapshot, _ = ReadinessSnapshot.objects.update_or_create(
                province=province, day=day,
                defaults={"measures": measures, "dimensions": scores, "score": score,
                          "level": level_for(score, policy), "actions": actions_for(measures)})
            snapshots.append(snapshot)
    return snapshots


def province_measures(*, province: Organisation, events: EventMeasures, target: ProvinceTarget | None,
                      window: Window) -> dict[str, dict[str, Any]]:
    collectors = collectors_enrolled(province=province, window=window)
    return {
        "connected": m.connected(events=events, collectors=collectors, window=window,
                                 expected=target.expected_collectors if target else 1,
                                 required=target.required_sources if target else list(SOURCE_KINDS)),
        "correct": m.correct(events, collectors),
        "sufficient": m.sufficient(events),
        "clean": m.clean(events),
        "live": m.live(events=events, collectors=collectors, window=window),
        "response": m.response(response_measures(province=province, window=window)),
    }


def scorecards_compute_if_due(*, now: datetime) -> str:
    """Yesterday's scorecards, once, when the day has settled; "waiting", "done" or "computed"."""
    local = timezone.localtime(now)
    if local - local.replace(hour=0, minute=0, second=0, microsecond=0) < SETTLE:
        return "waiting"
    yesterday = local.date() - timedelta(days=1)
    if day_is_computed(yesterday):
        return "done"
    scorecards_compute(day=yesterday)
    return "computed"


def scorecards_recompute(*, start: date, end: date) -> int:
    """Recompute every day of a past period (both ends included); returns the number of days."""
    if start > end:
        raise ReadinessError("the period must start on or before its end")
    days = days_between(start, end)
    for day in days:
        scorecards_compute(day=day)
        log.info("readiness scorecards computed for %s", day)
    return len(days)


def province_target_set(*, province: Organisation, expected_collectors: int, required_sources: list[str],
                        actor: Actor) -> ProvinceTarget:
    """What a province is measured against (collectors expected, source kinds required), audited with before
    and after. Set by the national SOC (``manage.py readiness_target_set``), never by the province."""
    target = ProvinceTarget.objects.filter(province=province).first() or ProvinceTarget(province=province)
    before = _target_state(target) if target.pk else None
    target.expected_collectors = expected_collectors
    target.required_sources = [k for k in SOURCE_KINDS if k in required_sources] + [
        k for k in required_sources if k not in SOURCE_KINDS]
    try:
        target.full_clean()
    except ValidationError as exc:
        raise ReadinessError("; ".join(exc.messages)) from exc
    with transaction.atomic():
        target.save()
        audit_record(actor=actor, action="readiness.target_set", object_type="readiness.target",
                     object_ref=province.code, organisation=province, before=before, after=_target_state(target))
    return target


def _target_state(target: ProvinceTarget) -> dict[str, Any]:
    return {"expected_collectors": target.expected_collectors, "required_sources": list(target.required_sources)}


def period_publish(*, actor: Actor, start: date, end: date) -> PublishedPeriod:
    """The central lead releases a period for announcement; it must have scorecards for every day."""
    _require_lead(actor)
    if start > end:
        raise ReadinessError("the period must start on or before its end")
    missing = days_incomplete(start, end)
    if missing:
        raise ReadinessError(f"scorecards are missing for {missing[0]} ({len(missing)} days incomplete): "
                             "compute them first (manage.py readiness_compute)")
    with transaction.atomic():
        period, created = PublishedPeriod.objects.get_or_create(start=start, end=end,
                                                                defaults={"published_by_id": actor.user_id})
        if created:
            _audit(actor, "readiness.publish", period)
    return period


def _require_lead(actor: Actor) -> None:
    if actor.user is None or not Permissions(actor.user).can_nationally(Action.READINESS_PUBLISH):
        raise PermissionDenied("only the central lead publishes readiness results")


def _audit(actor: Actor, action: str, period: PublishedPeriod) -> None:
    audit_record(actor=actor, action=action, object_type="readiness.period", object_ref=str(period),
                 organisation=Organisation.objects.get(kind=Kind.NATIONAL),
                 after={"start": period.start.isoformat(), "end": period.end.isoformat()})
