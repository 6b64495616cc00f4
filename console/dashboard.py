"""Dashboard figures for a user's scope (national, or one province's subtree).

SQL reads go through ``Incident.objects.visible_to`` / ``Collector.objects.visible_to``
and event aggregations through ``soc.es.scoped_search``; narrowing to one province
only ever narrows further.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DateField, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from collectors.models import Collector
from console.models import WeeklyFigures
from detection.models import Alert
from incidents.models import Category, Incident, Severity
from organisations.models import Organisation
from organisations.selectors import AnyUser, scope_to_provinces, visible_org_codes
from soc import es

ONLINE_WITHIN = timedelta(minutes=5)
TOP_RULES_WINDOW = timedelta(days=30)
WEEKS = 12
# The MTTA / MTTR tiles: the current week and the three before it, from the same weekly rows.
TILE_WEEKS = 4


@dataclass
class Series:
    labels: list[str] = field(default_factory=list)
    values: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"labels": self.labels, "values": self.values}

    def rows(self) -> list[tuple[str, int]]:
        return list(zip(self.labels, self.values, strict=True))


@dataclass
class Weekly:
    """Per week (Monday to Sunday in settings.TIME_ZONE, by week of opening): mean minutes to acknowledge and to
    resolve, and the share of decided SLA deadlines that were met (None: nothing to measure that week)."""

    weeks: list[str] = field(default_factory=list)
    mtta: list[float | None] = field(default_factory=list)
    mttr: list[float | None] = field(default_factory=list)
    ack_met: list[float | None] = field(default_factory=list)
    resolve_met: list[float | None] = field(default_factory=list)

    def rows(self) -> list[tuple[str, float | None, float | None, float | None, float | None]]:
        return list(zip(self.weeks, self.mtta, self.mttr, self.ack_met, self.resolve_met, strict=True))

    def times_json(self) -> dict[str, Any]:
        return {"labels": self.weeks, "series": [{"label": _("MTTA (min)"), "values": self.mtta},
                                                 {"label": _("MTTR (min)"), "values": self.mttr}]}

    def sla_json(self) -> dict[str, Any]:
        return {"labels": self.weeks, "series": [{"label": f"{_('Acknowledged in time')} (%)", "values": self.ack_met},
                                                 {"label": f"{_('Resolved in time')} (%)", "values": self.resolve_met}]}


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
    weekly: Weekly
    recent_high: list[Incident]

    def chart_data(self) -> dict[str, Any]:
        return {
            "severity": self.by_severity.as_json(), "province": self.by_province.as_json(),
            "category": self.by_category.as_json(), "rules": self.top_rules.as_json(),
            "sources": self.noisiest_sources.as_json(),
            "events": {"labels": self.events_hours,
                       "series": [{"label": k, "values": v} for k, v in self.events_by_province.items()]},
            "times": self.weekly.times_json(), "sla": self.weekly.sla_json(),
        }


def dashboard_cached(*, user: AnyUser, province: Organisation | None) -> Dashboard:
    """The dashboard, shared for SOC_DASHBOARD_CACHE_SECONDS by users who see exactly the same scope.

    The key holds the user's whole visible scope (not the user), the province asked for, the language
    and the time zone, so a cached copy is only ever served to someone who would compute the same figures.
    """
    ttl = settings.SOC_DASHBOARD_CACHE_SECONDS
    if ttl <= 0:
        return dashboard_build(user=user, province=province)
    key = _cache_key("dashboard", f"{_scope(user, province)}|{get_language()}|{timezone.get_current_timezone_name()}")
    dashboard = cache.get(key)
    if dashboard is None:
        dashboard = dashboard_build(user=user, province=province)
        cache.set(key, dashboard, ttl)
    return dashboard


def _scope(user: AnyUser, province: Organisation | None) -> str:
    """Everything that decides which rows the figures come from: the visible organisations and the narrowing."""
    codes = visible_org_codes(user)
    return f"{'*' if codes is None else ','.join(codes)}|{province.code if province else ''}"


def _cache_key(kind: str, raw: str) -> str:
    return f"console:{kind}:" + hashlib.sha256(raw.encode()).hexdigest()


def dashboard_build(*, user: AnyUser, province: Organisation | None, now: datetime | None = None) -> Dashboard:
    """About seven SQL queries and one Elasticsearch request, whatever the size of the scope."""
    now = now or timezone.now()
    incidents = Incident.objects.visible_to(user)
    collectors = Collector.objects.visible_to(user).filter(revoked_at__isnull=True)
    alerts = scope_to_provinces(Alert.objects.all(), user)
    figures = scope_to_provinces(WeeklyFigures.objects.all(), user)
    if province is not None:
        incidents = incidents.filter(province__path__startswith=province.path)
        collectors = collectors.filter(organisation__path__startswith=province.path)
        alerts = alerts.filter(province__path__startswith=province.path)
        figures = figures.filter(province__path__startswith=province.path)
    open_incidents = incidents.open()
    hours, per_province, sources = _event_figures(user=user, province=province, now=now)
    by_severity, by_category, by_province = _open_breakdown(open_incidents)
    weekly, (mtta, mttr) = _weekly(incidents, figures, now=now)
    online = collectors.aggregate(total=Count("id"),
                                  online=Count("id", filter=Q(last_seen_at__gte=now - ONLINE_WITHIN)))
    return Dashboard(
        province=province,
        by_severity=by_severity, by_province=by_province, by_category=by_category,
        top_rules=_top_rules(alerts, since=now - TOP_RULES_WINDOW),
        noisiest_sources=sources,
        events_hours=hours, events_by_province=per_province,
        collectors_online=online["online"], collectors_total=online["total"],
        mtta_minutes=mtta, mttr_minutes=mttr, weekly=weekly,
        recent_high=list(open_incidents.filter(severity__in=[Severity.HIGH, Severity.CRITICAL])
                         .select_related("province")[:10]),
    )


def _open_breakdown(open_incidents: QuerySet[Incident]) -> tuple[Series, Series, Series]:
    """Open incidents by severity, category and province, from one grouped scan."""
    severity: Counter[str] = Counter()
    category: Counter[str] = Counter()
    province: Counter[str] = Counter()
    # Grouped on the province id, not its code: no join over every open incident; codes are looked up after.
    rows = open_incidents.values_list("severity", "category", "province_id").annotate(n=Count("id"))
    counted = list(rows.values_list("severity", "category", "province_id", "n"))
    codes = dict(Organisation.objects.filter(pk__in={row[2] for row in counted}).values_list("pk", "code"))
    for sev, cat, province_id, n in counted:
        severity[sev] += n
        category[cat] += n
        province[codes[province_id]] += n
    return (_in_choice_order(severity, Severity.choices), _in_choice_order(category, Category.choices),
            Series(labels=[c for c, _ in province.most_common()], values=[n for _, n in province.most_common()]))


def _in_choice_order(counts: Counter[str], choices: list[tuple[str, Any]]) -> Series:
    out = Series()
    for value, label in choices:
        if counts.get(value):
            out.labels.append(str(label))
            out.values.append(counts[value])
    return out


def _top_rules(alerts: QuerySet[Alert], *, since: datetime, limit: int = 10) -> Series:
    """Rules by detection alerts (one per rule and entity key) seen in the window, in the user's provinces."""
    rows = (alerts.filter(last_seen__gte=since, suppressed=False).values("rule_id", "rule__name")
            .annotate(n=Count("id")).order_by("-n", "rule__name")[:limit])
    out = Series()
    for row in rows:
        out.labels.append(row["rule__name"])
        out.values.append(int(row["n"]))
    return out


FIGURES = ("ack_seconds", "ack_count", "resolve_seconds", "resolve_count", "ack_met", "ack_decided", "resolve_met",
           "resolve_decided")


def week_starts(now: datetime) -> list[date]:
    """The Mondays (in settings.TIME_ZONE) of the WEEKS weeks on the charts, oldest first; the last is this week."""
    today = timezone.localtime(now, zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def week_start_moment(week: date) -> datetime:
    return datetime.combine(week, time(), zoneinfo.ZoneInfo(settings.TIME_ZONE))


def incident_week_sums(incidents: QuerySet[Incident], *, now: datetime,
                       by_province: bool = False) -> list[dict[str, Any]]:
    """FIGURES per week of opening (and per province if asked) in one grouped scan of ``incidents``.

    A deadline is decided once it was met or missed (done late, or still not done after it passed).
    """
    def took(done: str) -> Sum:
        delta = ExpressionWrapper(F(done) - F("created_at"), output_field=DurationField())
        return Sum(delta, filter=Q(**{f"{done}__isnull": False}))

    def met(done: str, due: str) -> Count:
        return Count("id", filter=Q(**{f"{done}__isnull": False, f"{done}__lte": F(due)}))

    def decided(done: str, due: str) -> Count:
        return Count("id", filter=Q(**{f"{due}__isnull": False})
                     & (Q(**{f"{done}__isnull": False}) | Q(**{f"{due}__lt": now})))

    keys = ["province_id", "week"] if by_province else ["week"]
    week = TruncWeek("created_at", tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE), output_field=DateField())
    rows = incidents.annotate(week=week).values(*keys).annotate(
            ack_seconds=took("acknowledged_at"), ack_count=Count("id", filter=Q(acknowledged_at__isnull=False)),
            resolve_seconds=took("resolved_at"), resolve_count=Count("id", filter=Q(resolved_at__isnull=False)),
            ack_met=met("acknowledged_at", "ack_due_at"), ack_decided=decided("acknowledged_at", "ack_due_at"),
            resolve_met=met("resolved_at", "resolve_due_at"), resolve_decided=decided("resolved_at", "resolve_due_at"))
    return [{**row, "ack_seconds": _seconds(row["ack_seconds"]), "resolve_seconds": _seconds(row["resolve_seconds"])}
            for row in rows]


def _seconds(total: timedelta | None) -> float:
    return total.total_seconds() if total is not None else 0.0


def _weekly(incidents: QuerySet[Incident], figures: QuerySet[WeeklyFigures], *,
            now: datetime) -> tuple[Weekly, tuple[float | None, float | None]]:
    """MTTA, MTTR and SLA compliance per week over WEEKS weeks; and the MTTA / MTTR tiles over the last
    TILE_WEEKS of them. Past weeks come from the rollup (a few hundred rows at most), this week is counted live;
    ``incidents`` and ``figures`` are already scoped to what the user may see."""
    weeks = week_starts(now)
    past = figures.filter(week__gte=weeks[0], week__lt=weeks[-1]).values("week").annotate(
        **{name: Sum(name) for name in FIGURES})
    current = incident_week_sums(incidents.filter(created_at__gte=week_start_moment(weeks[-1])), now=now)
    rows = {row["week"]: row for row in [*past, *current]}
    out = Weekly()
    for week in weeks:
        row = rows.get(week, {})
        out.weeks.append(week.strftime("%d/%m"))
        out.mtta.append(_minutes(row.get("ack_seconds"), row.get("ack_count")))
        out.mttr.append(_minutes(row.get("resolve_seconds"), row.get("resolve_count")))
        out.ack_met.append(_percent(row.get("ack_met"), row.get("ack_decided")))
        out.resolve_met.append(_percent(row.get("resolve_met"), row.get("resolve_decided")))
    recent = [rows[w] for w in weeks[-TILE_WEEKS:] if w in rows]

    def total(name: str) -> float:
        return sum(float(r[name] or 0) for r in recent)

    return out, (_minutes(total("ack_seconds"), total("ack_count")),
                 _minutes(total("resolve_seconds"), total("resolve_count")))


def _minutes(seconds: float | None, count: float | None) -> float | None:
    return None if seconds is None or not count else round(seconds / 60 / count, 1)


def _percent(met: float | None, decided: float | None) -> float | None:
    return None if not decided else round(100 * (met or 0) / decided, 1)


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
