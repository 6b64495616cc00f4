"""Console pages of the investigation: the timeline (filtered by kind, paged), its export, and the incident report
(HTML or PDF, Vietnamese or English) with its verification. Every page fetches the incident in scope (404)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from incidents.investigation import KINDS, Timeline, investigation_timeline, kinds_from
from incidents.models import Incident
from incidents.report import LANGUAGES, incident_report_verify
from incidents.selectors import incident_get
from incidents.services.report import incident_report_produce
from organisations.actors import Actor
from organisations.exports import neutralise
from organisations.selectors import AnyUser

TIMELINE_PAGE = 100
EXPORT_COLUMNS = ["at", "kind", "action", "actor", "text", "values"]


def timeline_context(*, user: AnyUser, incident: Incident, params: Any, size: int) -> dict[str, Any]:
    """What the timeline partial (incidents/_timeline.html) needs: one page of the items of the chosen kinds."""
    chosen = kinds_from(params.getlist("kind"))
    timeline = investigation_timeline(user=user, incident=incident, kinds=chosen)
    page = Paginator(timeline.items, size).get_page(params.get("page"))
    return {"timeline": timeline, "page": page, "chosen": chosen, "kinds": KINDS,
            "kind_query": "".join(f"&kind={kind}" for kind in sorted(chosen) if len(chosen) < len(KINDS)),
            "kind_labels": {kind: str(label) for kind, label in KINDS.items()}}


@login_required
@require_GET
def incident_timeline_view(request: HttpRequest, key: str) -> HttpResponse:
    incident = incident_get(user=request.user, key=key)
    return render(request, "incidents/timeline.html", {
        "incident": incident, **timeline_context(user=request.user, incident=incident, params=request.GET,
                                                 size=TIMELINE_PAGE)})


@login_required
@require_GET
def incident_timeline_export_view(request: HttpRequest, key: str) -> HttpResponse:
    """The whole timeline of the chosen kinds, oldest first, as CSV (formula-looking cells neutralised) or JSON."""
    incident = incident_get(user=request.user, key=key)
    form = request.GET.get("format", "csv")
    if form not in ("csv", "json"):
        return HttpResponseBadRequest("format must be csv or json")
    chosen = kinds_from(request.GET.getlist("kind"))
    timeline = investigation_timeline(user=request.user, incident=incident, kinds=chosen, newest_first=False)
    body = _timeline_json(incident, chosen, timeline) if form == "json" else _timeline_csv(timeline)
    response = HttpResponse(body, content_type="application/json" if form == "json" else "text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{incident.key}-timeline.{form}"'
    return response


def _timeline_csv(timeline: Timeline) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for item in timeline.items:
        writer.writerow([neutralise(cell) for cell in (
            item.at.isoformat(), item.kind, item.action, item.actor, item.text(),
            json.dumps(item.values, ensure_ascii=False, default=str))])
    return out.getvalue()


def _timeline_json(incident: Incident, chosen: set[str], timeline: Timeline) -> str:
    return json.dumps({
        "incident": incident.key, "exported_at": timezone.now().isoformat(), "kinds": sorted(chosen),
        "truncated": timeline.truncated, "events_unavailable": timeline.events_unavailable,
        "items": [item.as_dict() for item in timeline.items],
    }, ensure_ascii=False, default=str, indent=1)


def report_language(request: HttpRequest) -> str:
    """The language asked for (``?lang=vi|en``), else the reader's own."""
    asked = request.GET.get("lang") or translation.get_language() or LANGUAGES[0]
    return asked if asked in LANGUAGES else asked[:2]


def report_response(request: HttpRequest, incident: Incident, form: str) -> HttpResponse:
    try:
        produced = incident_report_produce(user=request.user, incident=incident, form=form,
                                           language=report_language(request), actor=Actor.from_request(request))
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    response = HttpResponse(produced.content, content_type=produced.content_type)
    disposition = "attachment" if form == "pdf" else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{produced.filename}"'
    response["X-Report-SHA256"] = produced.sha256
    return response


@login_required
@require_GET
def incident_report_view(request: HttpRequest, key: str) -> HttpResponse:
    return report_response(request, incident_get(user=request.user, key=key), "html")


@login_required
@require_GET
def incident_report_pdf_view(request: HttpRequest, key: str) -> HttpResponse:
    return report_response(request, incident_get(user=request.user, key=key), "pdf")


@login_required
@require_GET
def incident_report_verify_view(request: HttpRequest, key: str) -> HttpResponse:
    """Is this SHA-256 (``sha256sum`` of a copy) one of the reports the platform produced of this incident?"""
    incident = incident_get(user=request.user, key=key)
    digest, entry, error = request.GET.get("sha256", ""), None, ""
    if digest:
        try:
            entry = incident_report_verify(incident=incident, sha256=digest)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    return render(request, "incidents/report_verify.html", {
        "incident": incident, "digest": digest, "entry": entry, "error": error, "languages": LANGUAGES})
