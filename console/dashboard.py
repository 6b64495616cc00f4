"""Dashboard figures for a user's scope (national, or one province's subtree).

SQL reads go through ``Incident.objects.visible_to`` / ``Collector.objects.visible_to``
and event aggregations through ``soc.es.scoped_search``; narrowing to one province
only ever narrows further.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import get_language

from collectors.models import Collector
from detection.models import DetectionRule
from incidents.models import Category, Incident, Severity
from organisations.models import Organisation
from organisations.selectors import AnyUser, visible_org_codes
from soc import es

ONLINE_WITHIN = timedelta(minutes=5)
TOP_RULES_WINDOW = timedelta(days=30)
MEAN_TIMES_WINDOW = timedelta(days=30)


@dataclass
class Series:
    labels: list[str] = field(default_factory=list)
    values: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"labels": self.labels, "values": self.values}

    def rows(self) -> list[tuple[str, int]]:
        return list(zip(self.labels, self.values, strict=True))


@dataclass
class Dashboard:
    province: Organisation | None
    by_severity: Series
    by_province: Series
    by_category: Series
    top_rules: Series
    noisiest_sources: Series
    events_hours: list[str]
    events_by_province: dict[str, list[int]]
    collectors_online: int
    collectors_total: int
    mtta_minutes: float | None
    mttr_minutes: float | None
    recent_high: list[Incident]

    def chart_data(self) -> dict[str, Any]:
        return {
            "severity": self.by_severity.as_json(), "province": self.by_province.as_json(),
            "category": self.by_category.as_json(), "rules": self.top_rules.as_json(),
            "sources": self.noisiest_sources.as_json(),
            "events": {"labels": self.events_hours,
                       "series": [{"label": k, "values": v} for k, v in self.events_by_province.items()]},
        }


def dashboard_cached(*, user: AnyUser, province: Organisation | None) -> Dashboard:
    """The dashboard, shared for SOC_DASHBOARD_CACHE_SECONDS by users who see exactly the same scope.

    The key holds the user's whole visible scope (not the user), the province asked for, the language
    and the time zone, so a cached copy is only ever served to someone who would compute the same figures.
    """
    ttl = settings.SOC_DASHBOARD_CACHE_SECONDS
    if ttl <= 0:
        return dashboard_build(user=user, province=province)
    codes = visible_org_codes(user)
    scope = "*" if codes is None else ",".join(codes)
    raw = f"{scope}|{province.code if province else ''}|{get_language()}|{timezone.get_current_timezone_name()}"
    key = "console:dashboard:" + hashlib.sha256(raw.encode()).hexdigest()
    dashboard = cache.get(key)
    if dashboard is None:
        dashboard = dashboard_build(user=user, province=province)
        cache.set(key, dashboard, ttl)
    return dashboard


def dashboard_build(*, user: AnyUser, province: Organisation | None, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    incidents = Incident.objects.visible_to(user)
    collectors = Collector.objects.visible_to(user).filter(revoked_at__isnull=True)
    if province is not None:
        incidents = incidents.filter(province__path__startswith=province.path)
        collectors = collectors.filter(organisation__path__startswith=province.path)
    open_incidents = incidents.open()
    hours, per_province, sources = _event_figures(user=user, province=province, now=now)
    by_severity, by_category, by_province = _open_breakdown(open_incidents)
    mtta, mttr = _mean_minutes(incidents.filter(created_at__gte=now - MEAN_TIMES_WINDOW))
    return Dashboard(
        province=province,
        by_severity=by_severity, by_province=by_province, by_category=by_category,
        top_rules=_top_rules(incidents, since=now - TOP_RULES_WINDOW),
        noisiest_sources=sources,
        events_hours=hours, events_by_province=per_province,
        collectors_online=collectors.filter(last_seen_at__gte=now - ONLINE_WITHIN).count(),
        collectors_total=collectors.count(),
        mtta_minutes=mtta, mttr_minutes=mttr,
        recent_high=list(open_incidents.filter(severity__in=[Severity.HIGH, Severity.CRITICAL])
                         .select_related("province")[:10]),
    )


def _open_breakdown(open_incidents: QuerySet[Incident]) -> tuple[Series, Series, Series]:
    """Open incidents by severity, category and province, from one grouped scan."""
    severity: Counter[str] = Counter()
    category: Counter[str] = Counter()
    province: Counter[str] = Counter()
    rows = open_incidents.values_list("severity", "category", "province__code").annotate(n=Count("id"))
    for sev, cat, code, n in rows.values_list("severity", "category", "province__code", "n"):
        severity[sev] += n
        category[cat] += n
        province[code] += n
    return (_in_choice_order(severity, Severity.choices), _in_choice_order(category, Category.choices),
            Series(labels=[c for c, _ in province.most_common()], values=[n for _, n in province.most_common()]))


def _in_choice_order(counts: Counter[str], choices: list[tuple[str, str]]) -> Series:
    out = Series()
    for value, label in choices:
        if counts.get(value):
            out.labels.append(str(label))
            out.values.append(counts[value])
    return out


def _top_rules(incidents: QuerySet[Incident], *, since: datetime, limit: int = 10) -> Series:
    """Rules by alerts raised in the window; detection incidents carry ``rule:<id>:...`` keys."""
    rule_id = Cast(Func(F("dedup_key"), Value(":"), Value(2), function="split_part"), IntegerField())
    rows = (incidents.filter(dedup_key__regex=r"^rule:[0-9]+:", created_at__gte=since)
            .annotate(rule_id=rule_id).values("rule_id").annotate(n=Sum("alert_count")).order_by("-n")[:limit])
    names = dict(DetectionRule.objects.filter(pk__in=[r["rule_id"] for r in rows]).values_list("pk", "name"))
    out = Series()
    for row in rows:
        out.labels.append(names.get(row["rule_id"], f"#{row['rule_id']}"))
        out.values.append(int(row["n"] or 0))
    return out


def _mean_minutes(incidents: QuerySet[Incident]) -> tuple[float | None, float | None]:
    """Mean minutes from opening to acknowledgement and to resolution, in one scan (None: no data)."""
    def mean(field: str) -> Avg:
        delta = ExpressionWrapper(F(field) - F("created_at"), output_field=DurationField())
        return Avg(delta, filter=Q(**{f"{field}__isnull": False}))

    row = incidents.aggregate(ack=mean("acknowledged_at"), resolve=mean("resolved_at"))
    return (None if row["ack"] is None else round(row["ack"].total_seconds() / 60, 1),
            None if row["resolve"] is None else round(row["resolve"].total_seconds() / 60, 1))


def _event_figures(*, user: AnyUser, province: Organisation | None,
                   now: datetime) -> tuple[list[str], dict[str, list[int]], Series]:
    """Events per organisation per hour over the last 24 hours, and the noisiest hosts."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=24)
    hours = [start + timedelta(hours=n) for n in range(24)]
    clauses: list[dict[str, Any]] = [{"range": {"@timestamp": {"gte": start.isoformat(), "lt": end.isoformat()}}}]
    if province is not None:
        codes = list(Organisation.objects.filter(path__startswith=province.path).values_list("code", flat=True))
        clauses.append({"terms": {"organization.id": codes}})
    aggs = {
        "orgs": {"terms": {"field": "organization.id", "size": 50}, "aggs": {"hours": {"date_histogram": {
            "field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 0,
            "extended_bounds": {"min": start.isoformat(), "max": (end - timedelta(hours=1)).isoformat()}}}}},
        "hosts": {"terms": {"field": "host.name", "size": 10}},
    }
    response = es.scoped_search(user=user, query={"bool": {"filter": clauses}}, size=0, aggs=aggs)
    labels = [timezone.localtime(h).strftime("%d/%m %H:00") for h in hours]
    aggregations = response.get("aggregations") or {}
    per_org: dict[str, list[int]] = {}
    for org in aggregations.get("orgs", {}).get("buckets", []):
        counts = {datetime.fromtimestamp(b["key"] / 1000, UTC): b["doc_count"] for b in org["hours"]["buckets"]}
        per_org[str(org["key"])] = [counts.get(h, 0) for h in hours]
    sources = Series()
    for bucket in aggregations.get("hosts", {}).get("buckets", []):
        sources.labels.append(str(bucket["key"]))
        sources.values.append(int(bucket["doc_count"]))
    return labels, per_org, sources
