"""Console pages for readiness: parse, call a selector or service, render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from organisations.access import Action, Permissions
from organisations.actors import Actor
from readiness import exports
from readiness.models import PublishedPeriod
from readiness.selectors import (
    DIMENSIONS,
    latest_day,
    published_period_get,
    published_periods,
    ranking_for_day,
    ranking_for_period,
    scorecard_codes,
    scorecard_get,
    trend,
)
from readiness.services import ReadinessError, period_publish

DIMENSION_LABELS = {"connected": _("Connected"), "correct": _("Correct"), "sufficient": _("Sufficient"),
                    "clean": _("Clean"), "live": _("Live"), "response": _("Response")}
CHART_HEIGHT = 100
EXPORT_CACHE_SECONDS = 3600
BAR_WIDTH = 28


def parse_day(raw: str | None) -> date | None:
    """A YYYY-MM-DD query parameter; a malformed one is a 404, like a day with no data."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Http404("Not a date") from exc


def bars(points: list[dict[str, Any]]) -> dict[str, Any]:
    """SVG geometry of a 0-100 bar chart (numbers only: nothing from the data is rendered as markup)."""
    step = BAR_WIDTH + 6
    return {"width": 8 + step * len(points), "height": CHART_HEIGHT + 14,
            "bars": [{"x": 4 + n * step, "y": CHART_HEIGHT - round(p["score"]), "height": round(p["score"]),
                      "score": p["score"], "label": p["period"]} for n, p in enumerate(points)]}


def columns(sort: str) -> list[dict[str, Any]]:
    """Sortable headers: a click sorts by the column, a second click reverses it."""
    keys = [("rank", "#"), ("code", _("Province")), ("score", _("Score")),
            *[(d, DIMENSION_LABELS[d]) for d in DIMENSIONS], ("week_change", _("7-day change")),
            ("month_change", _("30-day change"))]
    return [{"key": key, "label": label, "next": f"-{key}" if sort == key else key,
             "active": "asc" if sort == key else "desc" if sort == f"-{key}" else ""} for key, label in keys]


@login_required
def ranking_view(request: HttpRequest) -> HttpResponse:
    day = parse_day(request.GET.get("day")) or latest_day()
    sort = request.GET.get("sort", "rank")
    rows = ranking_for_day(day=day, sort=sort) if day else []
    return render(request, "readiness/ranking.html", {
        "day": day, "rows": rows, "sort": sort, "dimensions": DIMENSIONS, "columns": columns(sort),
        "visible": scorecard_codes(user=request.user),
        "is_lead": Permissions(request.user).can_nationally(Action.READINESS_PUBLISH),
        "periods": published_periods(),
    })


@login_required
def scorecard_view(request: HttpRequest, code: str) -> HttpResponse:
    snapshot = scorecard_get(user=request.user, code=code, day=parse_day(request.GET.get("day")))
    weekly, monthly = trend(snapshot=snapshot, grain="week", periods=12), trend(snapshot=snapshot, grain="month",
                                                                               periods=12)
    return render(request, "readiness/scorecard.html", {
        "card": snapshot, "m": snapshot.measures, "dimensions": DIMENSIONS, "labels": DIMENSION_LABELS,
        "weekly": bars(weekly), "monthly": bars(monthly),
    })


@login_required
@require_POST
def publish_view(request: HttpRequest) -> HttpResponse:
    try:
        start, end = (date.fromisoformat(request.POST.get(name, "")) for name in ("start", "end"))
        period = period_publish(actor=Actor.from_request(request), start=start, end=end)
    except ValueError as exc:  # a malformed date, or ReadinessError
        message = str(exc) if isinstance(exc, ReadinessError) else "start and end must be dates (YYYY-MM-DD)"
        return render(request, "readiness/publish_error.html", {"message": message}, status=400)
    return redirect("readiness:public-period", start=period.start.isoformat(), end=period.end.isoformat())


def _published(start: str | None, end: str | None) -> Any:
    return published_period_get(start=parse_day(start), end=parse_day(end))


def public_summary(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open to anyone when ``READINESS_PUBLIC_SUMMARY`` is on (published periods only, scores and levels only),
    otherwise behind the login like the rest of the console. Read-only GET either way."""
    guarded = require_GET(login_required(view))
    opened = require_GET(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return (opened if settings.READINESS_PUBLIC_SUMMARY else guarded)(request, *args, **kwargs)
    return wrapper


@public_summary
def public_view(request: HttpRequest, start: str | None = None, end: str | None = None) -> HttpResponse:
    period = _published(start, end)
    return render(request, "readiness/public.html", {
        "period": period, "rows": ranking_for_period(start=period.start, end=period.end),
        "periods": published_periods()})


@public_summary
def public_csv_view(request: HttpRequest, start: str, end: str) -> HttpResponse:
    period = _published(start, end)
    body = _cached_export(period, "csv", lambda: exports.summary_csv(
        ranking_for_period(start=period.start, end=period.end)))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="readiness-{period.start}-{period.end}.csv"'
    return response


@public_summary
def public_pdf_view(request: HttpRequest, start: str, end: str) -> HttpResponse:
    period = _published(start, end)
    body = _cached_export(period, "pdf", lambda: exports.summary_pdf(
        period=period, rows=ranking_for_period(start=period.start, end=period.end)))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="readiness-{period.start}-{period.end}.pdf"'
    return response


def _cached_export(period: PublishedPeriod, kind: str, build: Callable[[], Any]) -> Any:
    """A published period's exports are built once and shared: anyone may ask for them, and a PDF costs CPU.
    The key carries the publication time, so publishing the period again builds fresh ones."""
    key = f"readiness:public:{period.pk}:{period.published_at.timestamp()}:{kind}"
    body = cache.get(key)
    if body is None:
        body = build()
        cache.set(key, body, timeout=EXPORT_CACHE_SECONDS)
    return body
