"""Console pages for detection rules: list, edit (Sigma YAML with inline errors), per-province switch, test, runs.

Every page fetches the rule in the user's scope first (404 for a missing rule and for
one that does not apply to the user's province alike), then checks the role (403):
only a central lead changes anything. Writes go through ``detection.authoring``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from elasticsearch import ApiError, TransportError

from detection.authoring import rule_create, rule_delete, rule_province_set, rule_test_run, rule_update
from detection.forms import THRESHOLD_KEYS, RuleForm, TestRunForm, problems_to_form, rule_initial
from detection.kinds import RuleInvalid
from detection.models import DetectionRule
from detection.selectors import (
    BackfillRow,
    alert_list,
    backfill_rows,
    rule_get,
    rule_province_states,
    rule_rows,
    run_day_today,
    run_list,
    run_rows,
    user_provinces,
    user_sees_rule_totals,
)
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Organisation

RECENT_RUNS = 20
EDIT_FIELDS = ("name", "enabled", "organisation", "description", "severity", "category", "playbook", "interval_seconds",
               "lookback_seconds", "delay_seconds", "use_ingest_time", "max_alerts_per_run", "suppress_seconds",
               "exceptions")
FORM_LAYOUT = {"form_basics": EDIT_FIELDS, "form_threshold": THRESHOLD_KEYS}


def _require_manager(request: HttpRequest) -> None:
    if not Permissions(request.user).can_nationally(Action.RULES_MANAGE):
        raise PermissionDenied("Only a central lead manages detection rules.")


@login_required
@require_GET
def rule_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "detection/rules.html", {
        "rows": rule_rows(user=request.user), "backfills": _backfills(request),
        "can_manage": Permissions(request.user).can_nationally(Action.RULES_MANAGE),
        "national": user_provinces(request.user) is None,
    })


def _backfills(request: HttpRequest) -> list[BackfillRow] | None:
    """None when Elasticsearch cannot say: the rules page still shows the rules."""
    try:
        return backfill_rows(user=request.user, now=timezone.now())
    except (ApiError, TransportError):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def rule_create_view(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = RuleForm(request.POST or None, initial={"kind": request.GET.get("kind", "sigma"), "enabled": False})
    if request.method == "POST" and form.is_valid():
        try:
            rule = rule_create(actor=Actor.from_request(request), data=form.rule_data(created=True))
        except RuleInvalid as exc:
            problems_to_form(form, exc.problems, form.cleaned_data["kind"])
        else:
            messages.success(request, _("Rule created."))
            return redirect("detection:rule", pk=rule.pk)
    status = 400 if form.is_bound else 200
    layout = {**FORM_LAYOUT, "form_basics": ("kind", *EDIT_FIELDS)}
    return render(request, "detection/rule_new.html", {"form": form, **layout}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = rule_get(user=request.user, pk=pk)
    if request.method == "GET":
        return _detail(request, rule)
    _require_manager(request)
    form = RuleForm({**request.POST.dict(), "kind": rule.kind})
    if form.is_valid():
        try:
            rule_update(rule=rule, actor=Actor.from_request(request), data=form.rule_data(created=False))
        except RuleInvalid as exc:
            rule.refresh_from_db()  # nothing was stored: the page shows the rule as it still runs
            problems_to_form(form, exc.problems, rule.kind)
        else:
            messages.success(request, _("Saved as version %(version)s.") % {"version": rule.version})
            return redirect("detection:rule", pk=rule.pk)
    return _detail(request, rule, form=form, status=400)


@login_required
@require_POST
def rule_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = rule_get(user=request.user, pk=pk)
    _require_manager(request)
    test_form = TestRunForm(request.POST)
    if not test_form.is_valid():
        return _detail(request, rule, test_form=test_form, status=400)
    result = rule_test_run(rule=rule, start=test_form.cleaned_data["start"], end=test_form.cleaned_data["end"])
    for finding in result["findings"]:
        finding["province"] = finding["group"].get("organization.id", "")  # dotted keys are out of a template's reach
    return _detail(request, rule, test_form=test_form, test_result=result)


@login_required
@require_POST
def rule_province_view(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    rule = rule_get(user=request.user, pk=pk)
    _require_manager(request)
    province = Organisation.objects.provinces().filter(code=code).first()
    if province is None:
        raise Http404("No such province.")
    enabled = request.POST.get("enabled") == "on"
    try:
        rule_province_set(rule=rule, province=province, enabled=enabled, actor=Actor.from_request(request))
    except RuleInvalid as exc:
        messages.error(request, str(exc))
    else:
        note = _("%(rule)s is on in %(code)s.") if enabled else _("%(rule)s is off in %(code)s.")
        messages.success(request, note % {"rule": rule.name, "code": province.code})
    return redirect("detection:rule", pk=rule.pk)


@login_required
@require_POST
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = rule_get(user=request.user, pk=pk)
    _require_manager(request)
    rule_delete(rule=rule, actor=Actor.from_request(request))
    messages.success(request, _("Rule deleted."))
    return redirect("detection:rules")


@login_required
@require_GET
def rule_runs_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = rule_get(user=request.user, pk=pk)
    page = Paginator(run_list(user=request.user, rule=rule), 50).get_page(request.GET.get("page"))
    return render(request, "detection/runs.html", {
        "rule": rule, "page": page, "runs": run_rows(user=request.user, rule=rule, runs=page.object_list),
        "show_totals": user_sees_rule_totals(request.user, rule),
    })


def _detail(request: HttpRequest, rule: DetectionRule, *, form: RuleForm | None = None,
            test_form: TestRunForm | None = None, test_result: dict[str, Any] | None = None,
            status: int = 200) -> HttpResponse:
    can_manage = Permissions(request.user).can_nationally(Action.RULES_MANAGE)
    alerts_here = alert_list(user=request.user).filter(rule=rule)
    return render(request, "detection/rule.html", {
        "rule": rule, "can_manage": can_manage,
        "form": form or (RuleForm(initial=rule_initial(rule)) if can_manage else None),
        "yaml": (rule.params or {}).get("yaml", ""),
        "test_form": test_form or TestRunForm(), "test_result": test_result,
        "provinces": rule_province_states(user=request.user, rule=rule),
        "runs": run_rows(user=request.user, rule=rule, runs=run_list(user=request.user, rule=rule)[:RECENT_RUNS]),
        "show_totals": user_sees_rule_totals(request.user, rule),
        "today": run_day_today(rule=rule, now=timezone.now()),
        "alert_count": alerts_here.count(), "last_alert": alerts_here.first(),
        "versions": rule.versions.select_related("author")[:10], **FORM_LAYOUT,
    }, status=status)
