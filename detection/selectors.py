"""Reads about rules, runs, alerts and indicators, always scoped to what the user may see.

National rules are visible to everyone with a role; a province's own rules only
within its subtree. Alerts follow their province, exactly like incidents.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from detection.models import Alert, DetectionRule, RuleProvinceState, RuleRun, RuleRunDay
from organisations.models import Organisation
from organisations.selectors import AnyUser, scope_to_provinces, visible_org_codes
from soc import es


def rule_list(*, user: AnyUser) -> QuerySet[DetectionRule]:
    """National rules and the user's provinces' own; for a province, not a national rule switched off there."""
    visible = Organisation.objects.visible_to(user)
    if not visible.exists():
        return DetectionRule.objects.none()
    rules = (DetectionRule.objects.filter(Q(organisation__isnull=True) | Q(organisation__in=visible))
             .select_related("organisation").order_by("name"))
    provinces = user_provinces(user)
    if provinces is None:
        return rules
    off = Counter(RuleProvinceState.objects.filter(province__in=provinces, enabled=False)
                  .values_list("rule_id", flat=True))
    return rules.exclude(pk__in=[rule_id for rule_id, n in off.items() if n >= len(provinces)])


def user_provinces(user: AnyUser) -> list[Organisation] | None:
    """The provinces a user works in (a site member: the site's province); None for national scope."""
    if visible_org_codes(user) is None:
        return None
    homes = Organisation.objects.filter(memberships__user_id=int(user.pk or 0)).select_related("parent")
    found = {home.province for home in homes}
    return sorted((p for p in found if p is not None), key=lambda p: p.path)


def user_sees_rule_totals(user: AnyUser, rule: DetectionRule) -> bool:
    """Run totals of a national rule count every province's events: only national scope may read them."""
    if visible_org_codes(user) is None:
        return True
    return rule.organisation is not None and Organisation.objects.visible_to(user).filter(
        pk=rule.organisation.pk).exists()


def rule_province_states(*, user: AnyUser, rule: DetectionRule) -> list[tuple[Organisation, bool]]:
    """(province, rule on there?) for each province the user may see; empty for a province's own rule."""
    if rule.organisation is not None:
        return []
    provinces = user_provinces(user)
    if provinces is None:
        provinces = list(Organisation.objects.provinces().order_by("path"))
    off = set(RuleProvinceState.objects.filter(rule=rule, enabled=False).values_list("province_id", flat=True))
    return [(province, province.pk not in off) for province in provinces]




def rule_get(*, user: AnyUser, pk: int) -> DetectionRule:
    """404 for a missing rule and for another province's rule alike."""
    rule = rule_list(user=user).filter(pk=pk).first()
    if rule is None:
        raise Http404("No such rule.")
    return rule


def run_list(*, user: AnyUser, rule: DetectionRule) -> QuerySet[RuleRun]:
    return RuleRun.objects.filter(rule__in=rule_list(user=user), rule=rule).order_by("-started_at")


@dataclass(frozen=True)
class RunRow:
    """One run as a user may read it, on the runs page and in the API alike.

    Without the rule's totals (``user_sees_rule_totals``) hits and alerts are None and a capped run's error,
    which counts the alerts left out country-wide, is replaced by the bare fact that the cap was reached.
    """

    id: int
    started_at: datetime
    duration_ms: int
    range_start: datetime
    range_end: datetime
    hits: int | None
    alerts: int | None
    error: str
    gap_seconds: int
    backfill_capped: bool
    alert_cap_hit: bool


def run_rows(*, user: AnyUser, rule: DetectionRule, runs: Iterable[RuleRun]) -> list[RunRow]:
    """``runs`` (a page of ``run_list``) as ``user`` may read them."""
    totals = user_sees_rule_totals(user, rule)
    return [_run_row(run, totals=totals) for run in runs]


def _run_row(run: RuleRun, *, totals: bool) -> RunRow:
    withheld = run.alert_cap_hit and not totals
    return RunRow(id=run.pk, started_at=run.started_at, duration_ms=run.duration_ms, range_start=run.range_start,
                  range_end=run.range_end, hits=run.hits if totals else None, alerts=run.alerts if totals else None,
                  error=gettext("alert cap reached") if withheld else run.error, gap_seconds=run.gap_seconds,
                  backfill_capped=run.backfill_capped, alert_cap_hit=run.alert_cap_hit)


def alert_list(*, user: AnyUser) -> QuerySet[Alert]:
    return scope_to_provinces(Alert.objects.select_related("rule", "province", "incident"), user)


@dataclass
class RuleRow:
    """One line of the rules page: the rule, its latest run, and where it is on."""

    rule: DetectionRule
    last_run_at: datetime | None
    provinces_off: int  # national scope: provinces where a national rule is switched off
    on_here: bool  # province scope: the rule runs on this user's province


def rule_rows(*, user: AnyUser) -> list[RuleRow]:
    # The rule row carries its latest live run: quiet runs have no RuleRun row to read it from.
    rules = list(rule_list(user=user))
    off = Counter(RuleProvinceState.objects.filter(rule__in=rules, enabled=False).values_list("rule_id", flat=True))
    return [RuleRow(rule=rule, last_run_at=rule.last_run_at, provinces_off=off[rule.pk], on_here=rule.enabled)
            for rule in rules]


def run_day_today(*, rule: DetectionRule, now: datetime) -> RuleRunDay | None:
    """The rule's runs of the current UTC day so far, with the quiet ones that have no row of their own."""
    return RuleRunDay.objects.filter(rule=rule, day=now.astimezone(UTC).date()).first()


FAILING_SHOWN = 10


def detection_health() -> dict[str, Any]:
    """For operators (/healthz details): enabled rules whose last runs failed, and which; timeouts counted apart."""
    failing = DetectionRule.objects.filter(enabled=True, consecutive_errors__gt=0)
    worst = failing.order_by("-consecutive_errors", "name")[:FAILING_SHOWN]
    return {
        "rules_enabled": DetectionRule.objects.filter(enabled=True).count(),
        "rules_failing": failing.count(),
        "rules_timing_out": failing.filter(last_error__contains="timed out").count(),
        "failing": [{"id": rule.pk, "name": rule.name, "consecutive_errors": rule.consecutive_errors,
                     "last_error": rule.last_error[:300]} for rule in worst],
    }


# --- back-fill progress (detection.backfill) ---------------------------------------------------------------

BACKFILL_SHOWN = 10
BACKFILL_RECENT = timedelta(days=62)


@dataclass(frozen=True)
class BackfillRow:
    """One collector's replayed history: what arrived, what time it covers, how far the rules are, what fired."""

    collector: str
    collector_id: str
    province: str
    events: int
    arrived_first: datetime
    arrived_last: datetime
    covers_first: datetime
    covers_last: datetime
    rules_done: int
    rules_enabled: int
    alerts: int

    @property
    def finished(self) -> bool:
        return self.rules_done >= self.rules_enabled


def backfill_rows(*, user: AnyUser, now: datetime, collector_ids: list[str] | None = None) -> list[BackfillRow]:
    """The latest back-fills of the collectors in the user's provinces (arrived in the last two months); of
    ``collector_ids`` only, when given (a console upload's own collector)."""
    since = now - BACKFILL_RECENT
    filters = [{"term": {"soc.backfill": True}}, {"range": {"event.ingested": {"gte": since.isoformat()}}},
               *es.scope_filter(visible_org_codes(user))]
    if collector_ids is not None:
        filters.append({"terms": {"agent.id": collector_ids}})
    times = {f"{name}_{op}": {op: {"field": field}} for name, field in (("arrived", "event.ingested"),
                                                                        ("covers", "@timestamp"))
             for op in ("min", "max")}
    answer = es.client().search(
        index=es.event_indices(start=since, end=now, time_field="event.ingested", backfill_only=True), size=0,
        ignore_unavailable=True, allow_no_indices=True, query={"bool": {"filter": filters}},
        aggs={"collectors": {"terms": {"field": "agent.id", "size": BACKFILL_SHOWN, "order": {"arrived_max": "desc"}},
                             "aggs": {**times, "name": {"terms": {"field": "agent.name", "size": 1}},
                                      "org": {"terms": {"field": "organization.id", "size": 1}}}}})
    buckets = answer.get("aggregations", {}).get("collectors", {}).get("buckets", [])
    enabled = DetectionRule.objects.filter(enabled=True)
    total = enabled.count()
    return [_backfill_row(bucket, user=user, enabled=enabled, total=total) for bucket in buckets]


def _backfill_row(bucket: dict[str, Any], *, user: AnyUser, enabled: QuerySet[DetectionRule],
                  total: int) -> BackfillRow:
    def moment(name: str) -> datetime:
        return datetime.fromtimestamp(bucket[name]["value"] / 1000, UTC)

    def first_key(name: str) -> str:
        return str(bucket[name]["buckets"][0]["key"]) if bucket[name]["buckets"] else ""

    arrived_first, arrived_last = moment("arrived_min"), moment("arrived_max")
    uid = str(bucket["key"])
    # Single-event alerts point first at the event that made them: "<back-fill index>/<collector uid>:<id>".
    alerts = alert_list(user=user).filter(
        created_at__gte=arrived_first,
        event_refs__0__regex=rf"^{re.escape(es.index_pattern('events-' + es.BACKFILL)[:-1])}[0-9.]+/{uid}:")
    return BackfillRow(collector=first_key("name"), collector_id=uid, province=first_key("org"),
                       events=int(bucket["doc_count"]), arrived_first=arrived_first, arrived_last=arrived_last,
                       covers_first=moment("covers_min"), covers_last=moment("covers_max"),
                       rules_done=enabled.filter(backfill_checkpoint__gte=arrived_last).count(), rules_enabled=total,
                       alerts=alerts.count())


def alerts_from_collector(*, user: AnyUser, collector_id: str, since: datetime) -> QuerySet[Alert]:
    """Alerts the user may see whose first event came from this collector (event refs are
    ``<index>/<collector uid>:<event id>``), live or back-filled, raised since ``since``."""
    return alert_list(user=user).filter(created_at__gte=since,
                                        event_refs__0__regex=rf"/{re.escape(collector_id)}:")
