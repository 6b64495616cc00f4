"""Reads about collectors: always scoped to what the user may see, and their health."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from collectors.models import Collector, CollectorQuerySet, ProvinceRetention
from organisations.models import Kind, Organisation, Role
from organisations.selectors import AnyUser, user_grants


class Health(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"  # reporting, but behind (old unsent events), dropping or erroring
    OFFLINE = "offline"  # no heartbeat lately
    SILENT = "silent"  # reporting, but no events from its sources lately
    REVOKED = "revoked"


def collector_list(*, user: AnyUser) -> CollectorQuerySet:
    return Collector.objects.visible_to(user).select_related("organisation").order_by("organisation__code", "name")


def collector_get(*, user: AnyUser, uid: str) -> Collector:
    """The collector if the user may see it; 404 for missing and for another province's alike."""
    collector = collector_list(user=user).filter(uid=uid).first()
    if collector is None:
        raise Http404("no such collector")
    return collector


def collector_health(collector: Collector, *, now: datetime) -> Health:
    if collector.revoked_at is not None:
        return Health.REVOKED
    beat = collector.last_heartbeat_at
    if beat is None or now - beat > timedelta(seconds=settings.COLLECTOR_OFFLINE_SECONDS):
        return Health.OFFLINE
    silent_after = timedelta(seconds=settings.COLLECTOR_SILENT_SECONDS)
    if now - (collector.last_seen_at or collector.created_at) > silent_after:
        return Health.SILENT
    report = collector.health or {}
    behind = (report.get("oldest_unsent_age") or 0) > settings.COLLECTOR_DEGRADED_LAG_SECONDS
    if behind or report.get("drops") or report.get("last_error"):
        return Health.DEGRADED
    return Health.ONLINE


def collectors_to_check() -> CollectorQuerySet:
    """Every active collector, for the silence check (a system task: no user scope)."""
    return Collector.objects.filter(revoked_at__isnull=True).select_related("organisation")


MANAGING_ROLES = frozenset({Role.CENTRAL_LEAD, Role.PROVINCIAL_ADMIN})


def collector_get_to_manage(*, user: AnyUser, uid: str) -> Collector:
    """As ``collector_get``, and the user must hold a managing role over its organisation (else 403)."""
    collector = collector_get(user=user, uid=uid)
    path = collector.organisation.path
    if not any(role in MANAGING_ROLES and path.startswith(grant) for grant, role in user_grants(user)):
        raise PermissionDenied("only a central lead or the province's admin may configure its collectors")
    return collector


def organisations_to_enroll_in(*, user: AnyUser) -> QuerySet[Organisation]:
    """Organisations (in scope) where the user holds a managing role over collectors."""
    paths = [path for path, role in user_grants(user) if role in MANAGING_ROLES]
    scope = Q(pk__in=[])
    for path in paths:
        scope |= Q(path__startswith=path)
    return Organisation.objects.visible_to(user).filter(scope).exclude(kind=Kind.NATIONAL).order_by("code")


def retention_days_by_org_code(*, default_days: int) -> dict[str, int]:
    """Days to keep the events of every organisation (by code): its province's setting, else the default.

    A system read for the retention task (no user scope). Events carry the code of the
    collector's organisation, which may be a site below a province.
    """
    by_path = {r.organisation.path: r.days for r in ProvinceRetention.objects.select_related("organisation")}
    days: dict[str, int] = {}
    for code, path in Organisation.objects.values_list("code", "path"):
        days[code] = next((d for prefix, d in by_path.items() if path.startswith(prefix)), default_days)
    return days
