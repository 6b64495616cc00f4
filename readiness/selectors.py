"""Reads of readiness results. Scorecards are scoped to the user's provinces; rankings are not.

Scoping decision (tested in tests/readiness/test_scope.py): every signed-in user
may see the national ranking, which holds only scores, levels and trends (the
same figures the public announcement carries). A scorecard, with its measures,
collector names and actions, is served through ``ReadinessSnapshot.objects.visible_to``:
another province's answers 404, exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Avg, Count
from django.db.models.functions import TruncMonth, TruncWeek
from django.http import Http404

from organisations.models import Kind, Organisation
from organisations.selectors import AnyUser
from readiness.models import Level, PublishedPeriod, ReadinessSnapshot, ScoringPolicy
from readiness.scoring import level_for
from readiness.windows import days_between

DIMENSIONS = ["connected", "correct", "sufficient", "clean", "live", "response"]
SORT_KEYS = ["rank", "code", "name", "score", *DIMENSIONS, "week_change", "month_change"]


def policy_current() -> ScoringPolicy:
    """The newest policy, or the documented defaults when none was saved."""
    return ScoringPolicy.objects.first() or ScoringPolicy()


def province_subtree_codes(provinces: list[Organisation]) -> dict[str, list[str]]:
    """Each province's code -> the codes of the province and every site below it (events carry these)."""
    rows = list(Organisation.objects.filter(path__regex=r"^[^/]+/[^/]+/").values_list("path", "code"))
    return {p.code: sorted(code for path, code in rows if path.startswith(p.path)) for p in provinces}


def day_is_computed(day: date) -> bool:
    """Every province has its scorecard for the day."""
    return not days_incomplete(day, day)


def days_incomplete(start: date, end: date) -> list[date]:
    """Days of the period (both ends included) on which some province has no scorecard."""
    provinces = Organisation.objects.provinces().count()
    counts = dict(ReadinessSnapshot.objects.filter(day__range=(start, end), province__kind=Kind.PROVINCE)
                  .values_list("day").annotate(n=Count("id")).values_list("day", "n"))
    return [day for day in days_between(start, end) if counts.get(day, 0) < provinces]


def latest_day() -> date | None:
    return ReadinessSnapshot.objects.order_by("-day").values_list("day", flat=True).first()


@dataclass
class RankingRow:
    rank: int
    code: str
    name: str
    score: float
    level: str
    days: int = 1
    dimensions: dict[str, float | None] = field(default_factory=dict)
    week_change: float | None = None
    month_change: float | None = None

    @property
    def level_label(self) -> str:
        return str(Level(self.level).label)


def ranking_for_day(*, day: date, sort: str = "rank") -> list[RankingRow]:
    """Every province's score and level on ``day``, ranked; ``sort`` reorders (``-`` for descending).

    The trends are the change of the mean score between the last 7 (30) days and the 7 (30) before.
    """
    snapshots = ReadinessSnapshot.objects.filter(day=day).select_related("province")
    week, month = _change_by_province(day, 7), _change_by_province(day, 30)
    rows = [RankingRow(rank=0, code=s.province.code, name=s.province.name, score=s.score, level=s.level,
                       dimensions=s.dimensions, week_change=week.get(s.province.code),
                       month_change=month.get(s.province.code))
            for s in snapshots]
    return sort_rows(_ranked(rows), sort)


def ranking_for_period(*, start: date, end: date, policy: ScoringPolicy | None = None) -> list[RankingRow]:
    """Mean daily score over the period, the level that mean reaches, ranked. Scores and levels only."""
    policy = policy or policy_current()
    rows = (ReadinessSnapshot.objects.filter(day__range=(start, end))
            .values("province__code", "province__name").annotate(score=Avg("score"), days=Count("id")))
    return _ranked([RankingRow(rank=0, code=r["province__code"], name=r["province__name"],
                               score=round(r["score"], 1), level=level_for(r["score"], policy), days=r["days"])
                    for r in rows])


def _ranked(rows: list[RankingRow]) -> list[RankingRow]:
    rows.sort(key=lambda r: (-r.score, r.code))
    for position, row in enumerate(rows, start=1):
        row.rank = position
    return rows


def sort_rows(rows: list[RankingRow], sort: str) -> list[RankingRow]:
    """Reorder by a whitelisted column; unknown keys keep the rank order."""
    descending, key = sort.startswith("-"), sort.lstrip("-")
    if key not in SORT_KEYS:
        return rows

    def value(row: RankingRow) -> Any:
        raw = row.dimensions.get(key) if key in DIMENSIONS else getattr(row, key)
        return (raw is None, raw if raw is not None else 0)

    present = sorted((r for r in rows if value(r)[0] is False), key=value, reverse=descending)
    return present + [r for r in rows if value(r)[0] is True]


def _average_by_province(start: date, end: date) -> dict[str, float]:
    rows = (ReadinessSnapshot.objects.filter(day__range=(start, end))
            .values("province__code").annotate(avg=Avg("score")))
    return {r["province__code"]: r["avg"] for r in rows}


def _change_by_province(day: date, days: int) -> dict[str, float]:
    current = _average_by_province(day - timedelta(days=days - 1), day)
    previous = _average_by_province(day - timedelta(days=2 * days - 1), day - timedelta(days=days))
    return {code: round(current[code] - previous[code], 1) for code in current.keys() & previous.keys()}


def scorecard_codes(*, user: AnyUser) -> set[str]:
    """Provinces whose scorecards the user may open (the ranking links only to these)."""
    return set(Organisation.objects.visible_to(user).provinces().values_list("code", flat=True))


def scorecard_get(*, user: AnyUser, code: str, day: date | None = None) -> ReadinessSnapshot:
    """The province's scorecard for ``day`` (default: its latest); 404 for missing and not-yours alike."""
    snapshots = ReadinessSnapshot.objects.visible_to(user).filter(province__code=code).select_related("province")
    snapshot = snapshots.filter(day=day).first() if day else snapshots.order_by("-day").first()
    if snapshot is None:
        raise Http404("No such scorecard")
    return snapshot


def trend(*, snapshot: ReadinessSnapshot, grain: str, periods: int) -> list[dict[str, Any]]:
    """Mean score per week or month, the ``periods`` last ones up to the snapshot's day."""
    trunc = {"week": TruncWeek, "month": TruncMonth}[grain]
    span = timedelta(days=7 * periods if grain == "week" else 31 * periods)
    rows = (ReadinessSnapshot.objects.filter(province=snapshot.province, day__gt=snapshot.day - span,
                                             day__lte=snapshot.day)
            .annotate(period=trunc("day")).values("period").annotate(score=Avg("score"), days=Count("id"))
            .order_by("period"))
    return [{"period": r["period"], "score": round(r["score"], 1), "days": r["days"]} for r in rows][-periods:]


def published_periods() -> list[PublishedPeriod]:
    return list(PublishedPeriod.objects.all())


def published_period_get(*, start: date | None = None, end: date | None = None) -> PublishedPeriod:
    """A published period (the latest when no dates are given); 404 for anything unpublished."""
    periods = PublishedPeriod.objects.all()
    period = periods.filter(start=start, end=end).first() if start and end else periods.first()
    if period is None:
        raise Http404("No published readiness period")
    return period
