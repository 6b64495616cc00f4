"""Console pages for collectors: health per collector, enrollment tokens, revocation, event retention.

Reads go through ``collector_list`` (the user's provinces only); changes
need a managing role over the collector's organisation (404 outside the
user's scope, 403 inside it without the role).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from collectors.selectors import (
    collector_get_to_manage,
    collector_health,
    collector_list,
    organisations_to_enroll_in,
    retention_province_get_to_manage,
    retention_table,
)
from collectors.services import (
    RETENTION_MAX_DAYS,
    RETENTION_MIN_DAYS,
    collector_revoke,
    enrollment_token_create,
    province_retention_clear,
    province_retention_set,
    retention_days_check,
)
from organisations.access import Action, Permissions
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


@login_required
@require_GET
def retention_view(request: HttpRequest) -> HttpResponse:
    """Days each province in scope keeps its events; the central lead changes them here."""
    return render(request, "collectors/retention.html", {
        "rows": retention_table(user=request.user), "national_days": settings.EVENT_RETENTION_DAYS,
        "can_manage": Permissions(request.user).can(Action.RETENTION_MANAGE),
        "today": timezone.now().date(), "min_days": RETENTION_MIN_DAYS, "max_days": RETENTION_MAX_DAYS,
    })


@login_required
@require_POST
def retention_set_view(request: HttpRequest, code: str) -> HttpResponse:
    province = retention_province_get_to_manage(user=request.user, code=code)
    try:
        days = retention_days_check(request.POST.get("days"))
        province_retention_set(organisation=province, days=days, actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(code)s keeps its events %(days)d days from the next hourly run.")
                         % {"code": province.code, "days": days})
    return redirect("collectors:retention")


@login_required
@require_POST
def retention_clear_view(request: HttpRequest, code: str) -> HttpResponse:
    province = retention_province_get_to_manage(user=request.user, code=code)
    if province_retention_clear(organisation=province, actor=Actor.from_request(request)):
        messages.success(request, _("%(code)s follows the national default again.") % {"code": province.code})
    return redirect("collectors:retention")
