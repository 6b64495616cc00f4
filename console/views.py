"""Console pages: event search (hunting), CSV export, dashboards, provincial home."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from console.dashboard import dashboard_cached
from console.export import events_csv_start
from console.search import RANGES, EventSearch, SearchError, parse_search
from console.selectors import EventPage, event_get, event_search_page
from console.services import event_attach
from incidents.models import RequestStatus
from incidents.selectors import incident_get, incident_list, request_list
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Organisation


@login_required
def event_search_view(request: HttpRequest) -> HttpResponse:
    error, page = "", EventPage()
    search = EventSearch()
    try:
        search = parse_search(request.GET)
        page = event_search_page(user=request.user, search=search)
    except SearchError as exc:
        error = str(exc)
    context = {
        "attach_to": incident_list(user=request.user).open().order_by("-created_at").values_list("key", flat=True)[:50],
        "search": search, "page": page, "error": error, "ranges": list(RANGES),
        "histogram": [{"t": timezone.localtime(b.start).strftime("%d/%m %H:%M"), "n": b.count}
                      for b in page.histogram],
        "base_query": search.params().urlencode(),
        "filters_removal": [(f, search.params(filters=[g for g in search.filters if g != f]).urlencode())
                            for f in search.filters],
    }
    return render(request, "console/events.html", context, status=400 if error else 200)


@login_required
@require_POST
def event_attach_view(request: HttpRequest) -> HttpResponse:
    """Add an event to an incident: 404 for another province's event or incident, 403 without the right."""
    incident = incident_get(user=request.user, key=request.POST.get("incident", "").strip())
    Permissions(request.user).require(Action.COMMENT, incident.province)
    event = event_get(user=request.user, event_id=request.POST.get("event", ""))
    event_attach(incident=incident, event=event, actor=Actor.from_request(request))
    messages.success(request, _("The event was added to %(key)s.") % {"key": incident.key})
    return redirect("incidents:detail", key=incident.key)


# A hint only: how long an export runs depends on its size.
EXPORT_RETRY_SECONDS = 10


@login_required
def event_export_view(request: HttpRequest) -> HttpResponseBase:
    try:
        search = parse_search(request.GET)
    except SearchError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    limit = settings.SOC_EXPORT_MAX_ROWS
    lines = events_csv_start(user=request.user, search=search, limit=limit)
    if lines is None:
        message = _("An export of yours is still running: wait for it to finish, then start this one.")
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8",
                            headers={"Retry-After": str(EXPORT_RETRY_SECONDS)})
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="events-{timezone.now():%Y%m%d-%H%M}.csv"'
    response["X-Row-Limit"] = str(limit)
    return response


def _province_or_404(request: HttpRequest) -> Organisation | None:
    code = request.GET.get("province", "")
    if not code:
        return None
    try:
        return Organisation.objects.visible_to(request.user).get(code=code)
    except Organisation.DoesNotExist as exc:
        raise Http404("No such province") from exc


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    dashboard = dashboard_cached(user=request.user, province=_province_or_404(request))
    provinces = Organisation.objects.visible_to(request.user).provinces()
    return render(request, "console/dashboard.html", {
        "dashboard": dashboard, "chart_data": dashboard.chart_data(), "provinces": provinces})


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """What my province must do today: open requests for action (soonest due first) and open incidents."""
    incidents = incident_list(user=request.user).open().order_by("-created_at")[:50]
    requests = (request_list(user=request.user).exclude(status=RequestStatus.DONE)
                .select_related("incident").order_by("due_at")[:50])
    return render(request, "console/home.html", {"incidents": incidents, "requests": requests})
