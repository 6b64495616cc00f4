"""Console pages for collectors: health per collector, enrollment tokens, revocation.

Reads go through ``collector_list`` (the user's provinces only); changes
need a managing role over the collector's organisation (404 outside the
user's scope, 403 inside it without the role).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from collectors.selectors import (
    collector_get_to_manage,
    collector_health,
    collector_list,
    organisations_to_enroll_in,
)
from collectors.services import collector_revoke, enrollment_token_create
from organisations.actors import Actor


def _page(request: HttpRequest, token: str = "", token_org: str = "") -> HttpResponse:
    now = timezone.now()
    rows = [(c, collector_health(c, now=now)) for c in collector_list(user=request.user)]
    return render(request, "collectors/list.html", {
        "rows": rows, "enroll_in": organisations_to_enroll_in(user=request.user), "token": token,
        "token_org": token_org,
    })


@login_required
@require_GET
def collector_list_view(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def enrollment_token_create_view(request: HttpRequest) -> HttpResponse:
    organisation = organisations_to_enroll_in(user=request.user).filter(code=request.POST.get("organisation")).first()
    if organisation is None:
        raise PermissionDenied("you may not enroll collectors there")
    token = enrollment_token_create(organisation=organisation, created_by=request.user,
                                    actor=Actor.from_request(request))
    return _page(request, token=token, token_org=organisation.code)


@login_required
@require_POST
def collector_revoke_view(request: HttpRequest, uid: str) -> HttpResponse:
    collector = collector_get_to_manage(user=request.user, uid=uid)
    collector_revoke(collector=collector, actor=Actor.from_request(request))
    messages.success(request, f"{collector.name} revoked")
    return redirect("collectors:list")
