"""Console pages for incidents: parse, fetch in scope (404 otherwise), check the role (403), call one service."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache, wraps
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents import forms
from incidents.evidence import evidence_check
from incidents.investigation_views import timeline_context
from incidents.models import BULK_ACTIONS, STATUS_ACTIONS, Incident, SavedFilter, Severity, Status, status_action
from incidents.selectors import (
    LINKED_ALERTS,
    attachment_get,
    central_staff,
    comment_thread,
    evidence_list,
    incident_events,
    incident_get,
    incident_queue,
    linked_alerts,
    observable_list,
    request_get,
    request_list,
    saved_filter_get,
    saved_filter_list,
    sla_policy_table,
)
from incidents.services.bulk import incident_bulk_apply
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.evidence import attachment_add
from incidents.services.filters import saved_filter_delete, saved_filter_save
from incidents.services.intake import incident_file
from incidents.services.merge import incident_merge
from incidents.services.requests import request_send, request_update
from incidents.services.sla import sla_policy_clear, sla_policy_set
from incidents.services.workflow import incident_assign, incident_change_status, incident_handover, incident_update
from incidents.task_page import task_context
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Organisation
from organisations.selectors import organisation_get

PAGE_SIZE = 50
DETAIL_TIMELINE = 25  # the newest items on the incident page; the timeline page (investigation_views) has all
FormT = TypeVar("FormT", bound=forms.forms.Form)
IncidentView = Callable[..., HttpResponse]  # (request, incident, permissions, **URL parameters after the key)


def _errors(form: forms.forms.Form) -> str:
    return "; ".join(f"{name}: {' '.join(str(err) for err in errs)}" for name, errs in form.errors.items())


def valid(form: FormT) -> FormT:
    """The bound form, valid; else a ValidationError naming each field's errors (a message, see incident_action)."""
    if not form.is_valid():
        raise ValidationError(_errors(form))
    return form


def incident_action(action: Action | None) -> Callable[[IncidentView], Callable[..., HttpResponse]]:
    """POST on one incident: 404 outside scope, 403 without the right; a ValidationError becomes a message."""
    def decorate(view: IncidentView) -> Callable[..., HttpResponse]:
        @login_required
        @require_POST
        @wraps(view)
        def wrapper(request: HttpRequest, key: str, **more: Any) -> HttpResponse:
            incident = incident_get(user=request.user, key=key)
            permissions = Permissions(request.user)
            if action is not None:
                permissions.require(action, incident.province, incident.owner)
            try:
                return view(request, incident, permissions, **more)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("incidents:detail", key=incident.key)
        return wrapper
    return decorate


@login_required
@require_GET
def incident_list_view(request: HttpRequest) -> HttpResponse:
    if request.GET.get("view"):  # a saved view picked on the queue (works without JS: a GET form)
        view = request.GET["view"]
        saved = saved_filter_get(user=request.user, filter_id=int(view) if view.isdigit() else 0)
        return HttpResponseRedirect(f"{reverse('incidents:list')}?{saved.query}")
    rows = incident_queue(user=request.user, filters=request.GET)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    saved_filters = list(saved_filter_list(user=request.user))
    permissions = Permissions(request.user)
    return render(request, "incidents/list.html", {
        "incidents": page, "page": page, "statuses": Status.choices, "filters": request.GET,
        "saved_filters": saved_filters, "active_view": _active_view(saved_filters, request.GET),
        "can_bulk": bool(permissions.allowed_anywhere() & set(BULK_ACTIONS)),
        "staff": central_staff() if Action.ASSIGN in permissions.allowed_anywhere() else [],
        "labels": {"severity": dict(Severity.choices), "status": dict(Status.choices)},  # for rows added live
    })


def _active_view(saved_filters: list[SavedFilter], params: QueryDict) -> int | None:
    """The saved view whose filters are exactly the ones shown (page and order of keys aside)."""
    shown = {(key, value) for key, value in params.items() if key != "page" and value}
    return next((f.pk for f in saved_filters if set(parse_qsl(f.query)) == shown), None)


@login_required
@require_GET
def incident_detail_view(request: HttpRequest, key: str) -> HttpResponse:
    incident = incident_get(user=request.user, key=key)
    allowed = Permissions(request.user).allowed(incident.province, incident.owner)
    attachments = evidence_list(incident=incident)
    timeline = timeline_context(user=request.user, incident=incident, params=request.GET, size=DETAIL_TIMELINE)
    return render(request, "incidents/detail.html", {
        "incident": incident, "allowed": {action.value for action in allowed},
        "alerts": _page_alerts(incident, timeline["timeline"].alerts),
        "comments": comment_thread(incident=incident),
        **timeline,
        "observables": observable_list(user=request.user, incident=incident),
        **task_context(user=request.user, incident=incident, allowed=allowed, attachments=attachments),
        "attachments": attachments,
        "forms": {
            "status": blank_form(forms.StatusForm), "handover": blank_form(forms.HandoverForm),
            "assign": assign_form(staff=central_staff() if Action.ASSIGN in allowed else [],
                                  assignee=incident.assignee_id),
            "edit": edit_form(incident=incident),
            "comment": blank_form(forms.CommentForm), "observable": blank_form(forms.ObservableForm),
            "request": blank_form(forms.RequestForm), "attachment": blank_form(forms.AttachmentForm),
            "merge": blank_form(forms.MergeForm),
        },
    })


def _page_alerts(incident: Incident, read: list[dict[str, Any]] | None) -> list[Any]:
    """The newest 100 alerts by last seen (``linked_alerts``): from the timeline's read of every alert when it
    made one, so the page reads them once; else (a kind filter left alerts out, or there are too many) alone."""
    if read is None:
        return linked_alerts(incident=incident)
    return sorted(read, key=lambda alert: alert["last_seen"], reverse=True)[:LINKED_ALERTS]


@dataclass(frozen=True)
class RenderedForm:
    """A form's markup, for a template's ``{{ form.as_p }}``."""

    as_p: SafeString


def blank_form(form_class: type[forms.forms.Form]) -> RenderedForm:
    """An empty form that holds nothing of the incident's, rendered once per process and language.

    Its markup is the same for every request in one language; rendered each time, the seven such forms on the
    incident page cost 40 % of its CPU (widget templates, bench/page_cpu_bench.py).
    """
    return _rendered_blank(form_class, translation.get_language())


@cache
def _rendered_blank(form_class: type[forms.forms.Form], language: str) -> RenderedForm:
    return RenderedForm(form_class().as_p())


def assign_form(*, staff: list[tuple[int, str]], assignee: int | None) -> RenderedForm:
    """The assign form, rendered once per process, language, staff list and assignee (the 256 latest).

    Its markup depends on nothing else, and the staff list is the same for every incident: rendered each time,
    its options cost a tenth of the incident page's CPU.
    """
    return _rendered_assign(tuple(staff), assignee, translation.get_language())


@lru_cache(maxsize=256)
def _rendered_assign(staff: tuple[tuple[int, str], ...], assignee: int | None, language: str) -> RenderedForm:
    return RenderedForm(forms.AssignForm(staff=list(staff), initial={"assignee": assignee}).as_p())


# Stands for a text field's value in a cached rendering of the edit form; unguessable, so no title holds it.
_SLOT = f"soc-slot-{secrets.token_hex(16)}-"
_SLOTTED = re.compile(re.escape(_SLOT) + r"(title|mitre_techniques)")


def edit_form(*, incident: Incident) -> RenderedForm:
    """The edit form with the incident's values: the same markup as ``EditForm(initial=...).as_p()``.

    The three choice fields are rendered once per process, language and combination of chosen values (the LRU
    keeps 512): their options through Django's widget templates were 4 ms of the incident page. The two text
    values are escaped as the template would and put in place in one pass, so a value is never read again.
    """
    text = {"title": incident.title, "mitre_techniques": " ".join(incident.mitre_techniques)}
    markup = _rendered_edit(incident.severity, incident.category, incident.tlp,
                            tuple(name for name, value in text.items() if value), translation.get_language())
    return RenderedForm(mark_safe(_SLOTTED.sub(lambda slot: escape(text[slot[1]]), markup)))  # noqa: S308


@lru_cache(maxsize=512)
def _rendered_edit(severity: str, category: str, tlp: str, filled: tuple[str, ...], language: str) -> str:
    """An empty text field has no value attribute at all (TextInput): only filled ones get a slot."""
    initial = {"severity": severity, "category": category, "tlp": tlp, **{name: _SLOT + name for name in filled}}
    return str(forms.EditForm(initial=initial).as_p())


def _done(request: HttpRequest, incident: Incident, note: str) -> HttpResponse:
    messages.success(request, note)
    return redirect("incidents:detail", key=incident.key)


@incident_action(None)
def incident_status_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    permissions.require_any(STATUS_ACTIONS, incident.province, incident.owner)
    form = valid(forms.StatusForm(request.POST))
    permissions.require(status_action(form.cleaned_data["status"]), incident.province, incident.owner)
    incident_change_status(incident=incident, actor=Actor.from_request(request), **form.cleaned_data)
    return _done(request, incident, _("Status changed."))


@incident_action(Action.ASSIGN)
def incident_assign_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.AssignForm(request.POST, staff=central_staff()))
    incident_assign(incident=incident, assignee_id=form.cleaned_data["assignee"],
                             actor=Actor.from_request(request))
    return _done(request, incident, _("Assigned."))


@incident_action(Action.HANDOVER)
def incident_handover_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.HandoverForm(request.POST))
    incident_handover(incident=incident, owner=form.cleaned_data["owner"], actor=Actor.from_request(request))
    return _done(request, incident, _("Ownership handed over."))


@incident_action(Action.EDIT)
def incident_edit_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.EditForm(request.POST))
    incident_update(incident=incident, actor=Actor.from_request(request), changes=form.cleaned_data)
    return _done(request, incident, _("Saved."))


@incident_action(Action.COMMENT)
def comment_add_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.CommentForm(request.POST))
    comment_add(incident=incident, body=form.cleaned_data["body"], actor=Actor.from_request(request))
    return _done(request, incident, _("Comment added."))


@incident_action(Action.OBSERVE)
def observable_add_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.ObservableForm(request.POST))
    _observable, created = observable_add(incident=incident, actor=Actor.from_request(request),
                                                   **form.cleaned_data)
    return _done(request, incident, _("Observable added.") if created else _("This observable was already recorded."))


@incident_action(Action.REQUEST_SEND)
def request_send_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.RequestForm(request.POST))
    request_send(incident=incident, actor=Actor.from_request(request), **form.cleaned_data)
    return _done(request, incident, _("Request sent to the province."))


@incident_action(Action.ATTACH)
def attachment_add_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.AttachmentForm(request.POST, request.FILES))
    attachment_add(incident=incident, upload=form.cleaned_data["file"], actor=Actor.from_request(request))
    return _done(request, incident, _("Evidence uploaded."))


@incident_action(Action.MERGE)
def incident_merge_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.MergeForm(request.POST))
    survivor = incident_get(user=request.user, key=form.cleaned_data["into"])
    permissions.require(Action.MERGE, survivor.province)
    incident_merge(duplicate=incident, survivor=survivor, actor=Actor.from_request(request))
    note = _("%(duplicate)s merged into %(survivor)s.") % {"duplicate": incident.key, "survivor": survivor.key}
    return _done(request, survivor, note)


@login_required
@require_POST
def incident_bulk_view(request: HttpRequest) -> HttpResponse:
    """Hundreds of incidents in one request: the service runs one UPDATE for all of them."""
    Permissions(request.user).require_any(BULK_ACTIONS)
    form = forms.BulkForm(request.POST)
    keys = request.POST.getlist("keys")
    back = reverse("incidents:list")
    if not form.is_valid() or not keys or len(keys) > forms.BULK_MAX:
        messages.error(request, _errors(form) or _("Select between 1 and %(max)d incidents.") % {"max": forms.BULK_MAX})
        return HttpResponseRedirect(back)
    try:
        result = incident_bulk_apply(user=request.user, actor=Actor.from_request(request), keys=keys,
                                     **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(back)
    messages.success(request, _("%(changed)d changed, %(skipped)d skipped.") % {
        "changed": len(result.changed), "skipped": len(result.skipped)})
    return HttpResponseRedirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def incident_intake_view(request: HttpRequest) -> HttpResponse:
    """Provincial intake: the incident starts ``new`` in the central triage queue."""
    permissions = Permissions(request.user)
    permissions.require(Action.FILE)
    provinces = [(org.code, org.name) for org in Organisation.objects.visible_to(request.user).provinces()
                 if permissions.can(Action.FILE, org)]
    form = forms.IntakeForm(request.POST or None, request.FILES or None, provinces=provinces)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        province = Organisation.objects.visible_to(request.user).get(code=data.pop("province"))
        upload, actor = data.pop("evidence"), Actor.from_request(request)
        try:
            if upload is not None:
                evidence_check(upload)  # refuse before anything is written
            with transaction.atomic():
                incident = incident_file(province=province, actor=actor, **data)
                if upload is not None:
                    attachment_add(incident=incident, upload=upload, actor=actor)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _done(request, incident, _("Filed as %(key)s.") % {"key": incident.key})
    return render(request, "incidents/intake.html", {"form": form})


@login_required
@require_GET
def request_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(request_list(user=request.user, filters=request.GET), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/requests.html", {"requests": page, "page": page})


@login_required
@require_http_methods(["GET", "POST"])
def request_detail_view(request: HttpRequest, request_id: int) -> HttpResponse:
    rfa = request_get(user=request.user, request_id=request_id)
    form = forms.RequestUpdateForm(request.POST or None)
    if request.method == "POST":
        Permissions(request.user).require(Action.REQUEST_WORK, rfa.province)
        if form.is_valid():
            try:
                request_update(request=rfa, actor=Actor.from_request(request), **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Request updated."))
                return redirect("incidents:request", request_id=rfa.pk)
    can_work = Permissions(request.user).can(Action.REQUEST_WORK, rfa.province)
    return render(request, "incidents/request.html", {"rfa": rfa, "form": form, "can_work": can_work})


@login_required
@require_GET
def attachment_download_view(request: HttpRequest, attachment_id: int) -> FileResponse:
    """Always a download (never rendered inline), under the sanitised name, as opaque bytes."""
    attachment = attachment_get(user=request.user, attachment_id=attachment_id)
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def saved_filter_save_view(request: HttpRequest) -> HttpResponse:
    Permissions(request.user).require(Action.SAVE_FILTER)
    try:
        saved = saved_filter_save(user=request.user, name=request.POST.get("name", ""),
                                           params=request.POST)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("incidents:list")
    return HttpResponseRedirect(f"{reverse('incidents:list')}?{saved.query}")


@login_required
@require_POST
def saved_filter_delete_view(request: HttpRequest, filter_id: int) -> HttpResponse:
    Permissions(request.user).require(Action.SAVE_FILTER)
    saved = saved_filter_get(user=request.user, filter_id=filter_id)
    saved_filter_delete(saved=saved)
    return redirect("incidents:list")


@login_required
@require_GET
def incident_events_view(request: HttpRequest, key: str) -> HttpResponse:
    incident = incident_get(user=request.user, key=key)
    # "@timestamp" is not a valid template variable name: hand it over as "timestamp".
    events = [{"timestamp": event.get("@timestamp"), **event}
              for event in incident_events(user=request.user, incident=incident)]
    return render(request, "incidents/events.html", {"incident": incident, "events": events})


@login_required
@require_http_methods(["GET", "POST"])
def sla_policy_view(request: HttpRequest) -> HttpResponse:
    """The SLA targets in force per organisation; the central lead sets national targets and overrides."""
    can_manage = Permissions(request.user).can(Action.SLA_MANAGE)
    if request.method == "POST":
        Permissions(request.user).require(Action.SLA_MANAGE)
        clearing = bool(request.POST.get("clear"))
        form = (forms.SlaPolicyClearForm if clearing else forms.SlaPolicyForm)(request.POST)
        try:
            _sla_apply(request, form)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Saved. The new targets apply to incidents opened from now on."))
        return redirect("incidents:sla")
    return render(request, "incidents/sla.html", {
        "table": sla_policy_table(user=request.user), "severities": Severity.choices, "can_manage": can_manage,
        "form": forms.SlaPolicyForm(),
    })


def _sla_apply(request: HttpRequest, form: forms.SlaPolicyClearForm) -> None:
    if not form.is_valid():
        raise ValidationError(_errors(form))
    organisation = organisation_get(user=request.user, code=form.cleaned_data["organisation"])
    Permissions(request.user).require(Action.SLA_MANAGE, organisation)
    actor = Actor.from_request(request)
    if not isinstance(form, forms.SlaPolicyForm):
        sla_policy_clear(organisation=organisation, severity=form.cleaned_data["severity"], actor=actor)
    else:
        sla_policy_set(organisation=organisation, severity=form.cleaned_data["severity"],
                                values=form.values(), actor=actor)
