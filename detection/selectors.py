"""Reads about rules, runs, alerts and indicators, always scoped to what the user may see.

National rules are visible to everyone with a role; a province's own rules only
within its subtree. Alerts follow their province, exactly like incidents.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from detection.models import Alert, DetectionRule, RuleRun
from organisations.models import Organisation, Role
from organisations.selectors import AnyUser, scope_to_provinces, user_grants


def rule_list(*, user: AnyUser) -> QuerySet[DetectionRule]:
    visible = Organisation.objects.visible_to(user)
    if not visible.exists():
        return DetectionRule.objects.none()
    return (DetectionRule.objects.filter(Q(organisation__isnull=True) | Q(organisation__in=visible))
            .select_related("organisation").order_by("name"))


def rule_get(*, user: AnyUser, pk: int) -> DetectionRule:
    """404 for a missing rule and for another province's rule alike."""
    rule = rule_list(user=user).filter(pk=pk).first()
    if rule is None:
        raise Http404("No such rule.")
    return rule


def run_list(*, user: AnyUser, rule: DetectionRule) -> QuerySet[RuleRun]:
    return RuleRun.objects.filter(rule__in=rule_list(user=user), rule=rule).order_by("-started_at")


def alert_list(*, user: AnyUser) -> QuerySet[Alert]:
    return scope_to_provinces(Alert.objects.select_related("rule", "province", "incident"), user)


def user_manages_rules(user: AnyUser) -> bool:
    """Rules run for the whole country: only a central lead (a lead at the national level) edits them."""
    return any(role == Role.CENTRAL_LEAD and path.count("/") == 1 for path, role in user_grants(user))
