"""Console pages: event search (hunting), CSV export, dashboards, provincial home."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from elasticsearch import ApiError, TransportError

from console import hunting
from console.dashboard import dashboard_cached
from console.export import events_csv_start
from console.forms import RuleFromSearchForm
from console.models import Sharing
from console.search import RANGES, EventSearch, SearchError, parse_search, rule_lucene
from console.selectors import (
    CONTEXT_FIELDS,
    CONTEXT_MINUTES,
    EventPage,
    Sidebar,
    event_context,
    event_count,
    event_get,
    event_iter,
    event_search_page,
    event_sidebar,
    saved_search_get,
    saved_search_list,
)
from console.services import (
    ATTACH_SEARCH_EVENTS,
    event_attach,
    rule_draft_from_search,
    rule_enable_drafted,
    saved_search_create,
    saved_search_delete,
    saved_search_update,
    search_attach,
)
from detection.authoring import rule_test_run
from detection.kinds import RuleInvalid
from detection.models import DetectionRule
from detection.selectors import rule_get
from incidents.models import RequestStatus
from incidents.selectors import incident_get, incident_list, request_list
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Organisation


@login_required
def event_search_view(request: HttpRequest) -> HttpResponse:
    error, page, sidebar = "", EventPage(), Sidebar()
    search = EventSearch()
    try:
        search = parse_search(request.GET)
        page = event_search_page(user=request.user, search=search)
        sidebar = event_sidebar(user=request.user, search=search, sample=page.events)
    except SearchError as exc:
        error = str(exc)
    permissions = Permissions(request.user)
    context = {
        "attach_to": _open_incident_keys(request),
        "search": search, "page": page, "error": error, "ranges": list(RANGES),
        "histogram": [{"t": timezone.localtime(b.start).strftime("%d/%m %H:%M"), "n": b.count}
                      for b in page.histogram],
        "base_query": search.params().urlencode(),
        "filters_removal": [(f, search.params(filters=[g for g in search.filters if g != f]).urlencode())
                            for f in search.filters],
        "sidebar": sidebar, "sidebar_rows": hunting.sidebar_rows(search, sidebar, page.total),
        "columns": hunting.column_headers(search), "time_sort": hunting.time_sort(search),
        "rows": hunting.table_rows(search, page.events),
        "saved_searches": saved_search_list(user=request.user)[:SAVED_SEARCHES_SHOWN],
        "sharings": hunting.sharing_choices(request.user),
        "can_save": permissions.can(Action.SAVE_FILTER),
        "can_draft_rule": permissions.can_nationally(Action.RULES_MANAGE),
        "context_fields": CONTEXT_FIELDS,
    }
    return render(request, "console/events.html", context, status=400 if error else 200)


# At most this many saved searches on the page (by name): the centre sees every province's shares.
SAVED_SEARCHES_SHOWN = 100


def _open_incident_keys(request: HttpRequest) -> Any:
    return incident_list(user=request.user).open().order_by("-created_at").values_list("key", flat=True)[:50]


@login_required
@require_GET
def event_context_view(request: HttpRequest) -> HttpResponse:
    """The events of the same host (or source address) a few minutes around one event, in the user's scope."""
    event = event_get(user=request.user, event_id=request.GET.get("event", ""))
    field_name = request.GET.get("field", CONTEXT_FIELDS[0])
    minutes = hunting.int_choice(request.GET.get("minutes", ""), CONTEXT_MINUTES, default=5)
    if field_name not in CONTEXT_FIELDS:
        raise Http404("No such context")
    error, context = "", None
    try:
        context = event_context(user=request.user, event=event, field_name=field_name, minutes=minutes)
    except SearchError as exc:
        error = str(exc)
    return render(request, "console/event_context.html", {
        "event": event, "context": context, "error": error, "field": field_name, "minutes": minutes,
        "fields": CONTEXT_FIELDS, "minute_choices": CONTEXT_MINUTES,
        "search_link": hunting.context_search_link(event, field_name, minutes),
    }, status=400 if error else 200)


@login_required
@require_POST
def saved_search_create_view(request: HttpRequest) -> HttpResponse:
    search = _posted_search(request)
    try:
        saved = saved_search_create(name=request.POST.get("name", ""), search=search,
                                    sharing=request.POST.get("sharing", Sharing.PRIVATE),
                                    actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(f"{reverse('console:events')}?{search.params().urlencode()}")
    messages.success(request, _("Search saved as %(name)s.") % {"name": saved.name})
    return redirect(f"{reverse('console:events')}?{saved.query}")


@login_required
@require_http_methods(["GET", "POST"])
def saved_search_view(request: HttpRequest, search_id: int) -> HttpResponse:
    """GET runs the saved search; POST (its owner) replaces it with the search posted, under a name and sharing."""
    saved = saved_search_get(user=request.user, search_id=search_id)
    if request.method != "POST":
        return redirect(f"{reverse('console:events')}?{saved.query}")
    search = _posted_search(request)
    try:
        saved_search_update(saved=saved, name=request.POST.get("name", saved.name), search=search,
                            sharing=request.POST.get("sharing", saved.sharing), actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Saved search %(name)s updated.") % {"name": saved.name})
    return redirect(f"{reverse('console:events')}?{saved.query}")


@login_required
@require_POST
def saved_search_delete_view(request: HttpRequest, search_id: int) -> HttpResponse:
    saved = saved_search_get(user=request.user, search_id=search_id)
    saved_search_delete(saved=saved, actor=Actor.from_request(request))
    messages.success(request, _("Saved search %(name)s deleted.") % {"name": saved.name})
    return redirect("console:events")


def _posted_search(request: HttpRequest) -> EventSearch:
    """The search a form carries in its ``search`` field (the events page's query string); 400 if unreadable."""
    try:
        return parse_search(QueryDict(request.POST.get("search", "")))
    except SearchError as exc:
        raise BadRequest(str(exc)) from exc


@login_required
@require_POST
def search_attach_view(request: HttpRequest) -> HttpResponse:
    """Add a search (what it asks, its count, a link, its first events) to an incident: 404 for another
    province's incident, 403 without the right to comment; the events are read in the user's scope."""
    incident = incident_get(user=request.user, key=request.POST.get("incident", "").strip())
    Permissions(request.user).require(Action.COMMENT, incident.province)
    search = _posted_search(request)
    try:
        total = event_count(user=request.user, search=search)
        events = list(event_iter(user=request.user, search=search, limit=ATTACH_SEARCH_EVENTS))
    except SearchError as exc:
        messages.error(request, str(exc))
        return redirect(f"{reverse('console:events')}?{search.params().urlencode()}")
    link = request.build_absolute_uri(f"{reverse('console:events')}?{search.params().urlencode()}")
    search_attach(incident=incident, search=search, events=events, total=total, link=link,
                  actor=Actor.from_request(request))
    messages.success(request, _("The search was added to %(key)s.") % {"key": incident.key})
    return redirect("incidents:detail", key=incident.key)


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


@login_required
@require_http_methods(["GET", "POST"])
def rule_from_search_view(request: HttpRequest) -> HttpResponse:
    """GET: the draft form for the search in the query string. POST (the form, with the search it came from):
    the rule is created switched off and test-run over the search's time range (detection's own test mode),
    ready to be enabled."""
    _require_rule_manager(request)
    try:
        search = parse_search(QueryDict(request.POST.get("search", "")) if request.method == "POST" else request.GET)
        query = rule_lucene(search)
    except SearchError as exc:
        return render(request, "console/rule_from_search.html", {"error": str(exc)}, status=400)
    page = {"search": search, "query": query, "search_query": search.params().urlencode()}
    form = RuleFromSearchForm(request.POST or None)
    if form.is_bound and form.is_valid():
        try:
            rule = rule_draft_from_search(search=search, actor=Actor.from_request(request), **form.draft_data())
        except RuleInvalid as exc:
            form.add_error(None, "; ".join(str(p.get("message")) for p in exc.problems))
        else:
            return render(request, "console/rule_from_search.html",
                          {**page, "rule": rule, "result": _test_run(rule, search)})
    return render(request, "console/rule_from_search.html", {**page, "form": form},
                  status=400 if form.is_bound else 200)


def _test_run(rule: DetectionRule, search: EventSearch) -> dict[str, Any]:
    try:
        return rule_test_run(rule=rule, start=search.start, end=search.end)
    except (RuleInvalid, ApiError, TransportError) as exc:
        return {"error": str(exc), "findings": [], "would_alert": 0, "hits": 0}


@login_required
@require_POST
def rule_enable_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = rule_get(user=request.user, pk=rule_id)
    _require_rule_manager(request)
    try:
        rule_enable_drafted(rule=rule, actor=Actor.from_request(request))
    except RuleInvalid as exc:
        messages.error(request, "; ".join(str(p.get("message")) for p in exc.problems))
    else:
        messages.success(request, _("%(rule)s is on.") % {"rule": rule.name})
    return redirect("detection:rule", pk=rule.pk)


def _require_rule_manager(request: HttpRequest) -> None:
    if not Permissions(request.user).can_nationally(Action.RULES_MANAGE):
        raise PermissionDenied("Only a central lead manages detection rules.")
