"""Console pages for playbooks, and the tasks on an incident's page (same pattern as incidents.views: parse, fetch
in scope (404 otherwise), check the role (403), call one service)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from incidents import forms
from incidents.models import (
    Incident,
    Owner,
    task_actions,
    task_plan_action,
    task_work_action,
)
from incidents.selectors import (
    attachment_list,
    playbook_get,
    playbook_list,
    playbook_version_get,
    task_assignees,
    task_get,
)
from incidents.services.playbooks import playbook_apply, playbook_save
from incidents.services.tasks import task_update
from incidents.views import _done, incident_action, valid
from organisations.access import Action, Permissions
from organisations.actors import Actor


@incident_action(None)
def task_update_view(request: HttpRequest, incident: Incident, permissions: Permissions, task_id: int) -> HttpResponse:
    task = task_get(incident=incident, task_id=task_id)
    permissions.require_any((task_work_action(task.owner), task_plan_action(task.owner)), incident.province,
                            incident.owner)
    form = valid(forms.TaskUpdateForm(request.POST, assignees=task_assignees(task=task),
                                attachments=[(a.pk, a.name) for a in attachment_list(incident=incident)]))
    changes = form.changes(task.assignee_id)
    for action in task_actions(owner=task.owner, current=task.status, changes=changes):
        permissions.require(action, incident.province, incident.owner)
    task_update(task=task, actor=Actor.from_request(request), changes=changes)
    return _done(request, incident, _("Task updated."))


@incident_action(Action.EDIT)
def playbook_apply_view(request: HttpRequest, incident: Incident, permissions: Permissions) -> HttpResponse:
    form = valid(forms.PlaybookApplyForm(request.POST))
    playbook = playbook_get(slug=form.cleaned_data["playbook"])
    tasks = playbook_apply(incident=incident, playbook=playbook, actor=Actor.from_request(request), reason="manual")
    if not tasks:
        return _done(request, incident, _("This incident already has the tasks of that playbook."))
    return _done(request, incident, _("Playbook applied: %(n)d tasks added.") % {"n": len(tasks)})


@login_required
@require_GET
def playbook_list_view(request: HttpRequest) -> HttpResponse:
    Permissions(request.user).require(Action.VIEW)
    return render(request, "incidents/playbooks.html", {
        "playbooks": playbook_list().prefetch_related("rules"),
        "can_manage": Permissions(request.user).can_nationally(Action.PLAYBOOKS_MANAGE)})


@login_required
@require_GET
def playbook_detail_view(request: HttpRequest, slug: str, version: int | None = None) -> HttpResponse:
    """A playbook as in force (or one of its earlier versions), its history and the rules that name it."""
    Permissions(request.user).require(Action.VIEW)
    playbook = playbook_get(slug=slug)
    shown = playbook_version_get(playbook=playbook, number=version or playbook.version)
    return render(request, "incidents/playbook.html", {
        "playbook": playbook, "shown": shown, "versions": playbook.versions.select_related("author"),
        "rules": playbook.rules.order_by("name"), "owners": dict(Owner.choices),
        "can_manage": Permissions(request.user).can_nationally(Action.PLAYBOOKS_MANAGE)})


@login_required
@require_http_methods(["GET", "POST"])
def playbook_edit_view(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """The central lead writes a playbook; each save is a new version (incidents.services.playbooks)."""
    Permissions(request.user).require(Action.VIEW)
    if not Permissions(request.user).can_nationally(Action.PLAYBOOKS_MANAGE):
        raise PermissionDenied("Only the central lead edits playbooks.")
    playbook = playbook_get(slug=slug) if slug else None
    current = playbook.current() if playbook else None
    initial = {"name": current.name, "category": playbook.category, "description": current.description,
               "source": current.source, "default_for_category": playbook.default_for_category} \
        if playbook and current else {}
    form = forms.PlaybookForm(request.POST or None, initial=initial)
    steps = forms.StepFormSet(request.POST or None, prefix="steps",
                              initial=forms.steps_initial(current.steps) if current else None)
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        values = {name: form.cleaned_data[name] for name in ("name", "category", "default_for_category",
                                                             "description", "source")}
        values["steps"] = forms.steps_from(steps)
        try:
            saved = playbook_save(playbook=playbook, slug=form.cleaned_data["slug"], actor=Actor.from_request(request),
                                  values=values)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved as version %(n)d.") % {"n": saved.version})
            return redirect("incidents:playbook", slug=saved.slug)
    return render(request, "incidents/playbook_edit.html", {"playbook": playbook, "form": form, "steps": steps},
                  status=400 if request.method == "POST" else 200)

