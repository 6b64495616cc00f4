"""Console pages: memberships of the user's organisations, and the audit log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from organisations.access import Action, Permissions, require_organisation_manage
from organisations.actors import Actor
from organisations.exports import audit_csv_response
from organisations.models import Kind, Organisation
from organisations.selectors import audit_list, membership_get, membership_list, organisation_get, organisation_list
from organisations.services import membership_revoke, organisation_create

PAGE_SIZE = 100


@login_required
@require_GET
def membership_list_view(request: HttpRequest) -> HttpResponse:
    permissions = Permissions(request.user)
    memberships = membership_list(user=request.user).order_by("organisation__path", "user__username")
    page = Paginator(memberships, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(m, permissions.can(Action.MEMBERS_MANAGE, m.organisation)) for m in page]
    return render(request, "organisations/members.html", {"rows": rows, "page": page})


@login_required
@require_POST
def membership_revoke_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = membership_get(user=request.user, membership_id=membership_id)
    Permissions(request.user).require(Action.MEMBERS_MANAGE, membership.organisation)
    membership_revoke(membership=membership, actor=Actor.from_request(request))
    messages.success(request, _("Membership removed; it takes effect on that user's next request."))
    return redirect("organisations:members")


@login_required
@require_GET
def audit_list_view(request: HttpRequest) -> HttpResponse:
    Permissions(request.user).require(Action.AUDIT_VIEW)
    entries = audit_list(user=request.user).select_related("organisation")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "organisations/audit.html", {"entries": page, "page": page})


@login_required
@require_GET
def audit_export_view(request: HttpRequest) -> StreamingHttpResponse:
    Permissions(request.user).require(Action.AUDIT_VIEW)
    return audit_csv_response(user=request.user)


class OrganisationForm(forms.Form):
    parent = forms.CharField(max_length=16)
    code = forms.CharField(max_length=16)
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=[(Kind.SITE, Kind.SITE.label), (Kind.PROVINCE, Kind.PROVINCE.label)])


@login_required
@require_http_methods(["GET", "POST"])
def organisation_list_view(request: HttpRequest) -> HttpResponse:
    """The user's part of the tree; provincial admins add agencies and sites, the central lead provinces."""
    permissions = Permissions(request.user)
    if request.method == "POST":
        permissions.require(Action.ORGANISATIONS_MANAGE)
        try:
            created = _organisation_create(request, OrganisationForm(request.POST))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(code)s created.") % {"code": created.code})
        return redirect("organisations:list")
    organisations = organisation_list(user=request.user)
    rows = [(o, o.path.count("/") - 1) for o in organisations]
    return render(request, "organisations/organisations.html", {
        "rows": rows, "form": OrganisationForm(),
        "can_manage": permissions.can(Action.ORGANISATIONS_MANAGE),
    })


def _organisation_create(request: HttpRequest, form: OrganisationForm) -> Organisation:
    if not form.is_valid():
        raise ValidationError("; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()))
    parent = organisation_get(user=request.user, code=form.cleaned_data["parent"].strip().upper())
    require_organisation_manage(request.user, kind=form.cleaned_data["kind"], place=parent)
    return organisation_create(parent=parent, code=form.cleaned_data["code"], name=form.cleaned_data["name"],
                               kind=form.cleaned_data["kind"], actor=Actor.from_request(request))
