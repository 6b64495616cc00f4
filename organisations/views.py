"""Console pages: memberships of the user's organisations, and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from incidents.permissions import Action, Permissions
from organisations.actors import Actor
from organisations.exports import audit_csv_rows
from organisations.selectors import audit_list, membership_get, membership_list
from organisations.services import membership_revoke

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
    messages.success(request, "Membership removed; it takes effect on that user's next request.")
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
    entries = audit_list(user=request.user).select_related("organisation").order_by("created_at", "id")
    response = StreamingHttpResponse(audit_csv_rows(entries.iterator(chunk_size=2000)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
