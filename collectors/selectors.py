"""Reads about collectors: always scoped to what the user may see, and their health."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from elastic_transport import TransportError
from elasticsearch import ApiError

from collectors.models import (
    BackfillStatus,
    BackfillUpload,
    BackfillUploadQuerySet,
    Collector,
    CollectorQuerySet,
    ProvinceRetention,
)
from organisations.access import Action, Permissions
from organisations.models import Kind, Organisation
from organisations.selectors import AnyUser
from soc import es

logger = logging.getLogger(__name__)


class Health(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"  # reporting, but behind (old unsent events), dropping or erroring
    OFFLINE = "offline"  # no heartbeat lately
    SILENT = "silent"  # reporting, but no events from its sources lately
    FINISHED = "finished"  # its last report ended a one-off run (a replay): no more reports are expected
    REVOKED = "revoked"


def collector_list(*, user: AnyUser) -> CollectorQuerySet:
    """Enrolled collectors; not the ones that only carry a console upload's events (``backfill_upload_list``)."""
    return (Collector.objects.visible_to(user).filter(backfill_upload__isnull=True).select_related("organisation")
            .order_by("organisation__code", "name"))


def collector_get(*, user: AnyUser, uid: str) -> Collector:
    """The collector if the user may see it; 404 for missing and for another province's alike."""
    collector = collector_list(user=user).filter(uid=uid).first()
    if collector is None:
        raise Http404("no such collector")
    return collector


def collector_health(collector: Collector, *, now: datetime) -> Health:
    if collector.revoked_at is not None:
        return Health.REVOKED
    report = collector.health or {}
    if report.get("state") == Health.FINISHED:
        return Health.FINISHED
    beat = collector.last_heartbeat_at
    if beat is None or now - beat > timedelta(seconds=settings.COLLECTOR_OFFLINE_SECONDS):
        return Health.OFFLINE
    silent_after = timedelta(seconds=settings.COLLECTOR_SILENT_SECONDS)
    if now - (collector.last_seen_at or collector.created_at) > silent_after:
        return Health.SILENT
    behind = (report.get("oldest_unsent_age") or 0) > settings.COLLECTOR_DEGRADED_LAG_SECONDS
    if behind or report.get("drops") or report.get("last_error"):
        return Health.DEGRADED
    return Health.ONLINE


def collectors_to_check() -> CollectorQuerySet:
    """Every active collector, for the silence check (a system task: no user scope)."""
    return Collector.objects.filter(revoked_at__isnull=True).select_related("organisation")


def collector_get_to_manage(*, user: AnyUser, uid: str) -> Collector:
    """As ``collector_get``, and the user must hold a managing role over its organisation (else 403)."""
    collector = collector_get(user=user, uid=uid)
    if not Permissions(user).can(Action.COLLECTORS_MANAGE, collector.organisation):
        raise PermissionDenied("only a central lead or the province's admin may configure its collectors")
    return collector


def organisations_to_enroll_in(*, user: AnyUser) -> QuerySet[Organisation]:
    """Organisations (in scope) where the user holds a managing role over collectors."""
    managed = Permissions(user).organisations(Action.COLLECTORS_MANAGE)
    return (Organisation.objects.visible_to(user).filter(pk__in=managed.values("pk"))
            .exclude(kind=Kind.NATIONAL).order_by("code"))


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


class RetentionOrigin(StrEnum):
    NATIONAL = "national"  # settings.EVENT_RETENTION_DAYS (SOC_EVENT_RETENTION_DAYS)
    OVERRIDE = "override"  # the province's own ProvinceRetention row


@dataclass(frozen=True)
class RetentionRow:
    organisation: Organisation
    days: int
    origin: RetentionOrigin
    national_days: int
    updated_at: datetime | None  # when the override was last set
    oldest_index: str | None  # the oldest daily events index still holding this province's events
    # The first day the hourly task may delete that index, by this province's days alone; later while a
    # province sharing the day keeps its events longer (days are a floor).
    deletable_from: date | None


def retention_provinces(*, user: AnyUser) -> QuerySet[Organisation]:
    """The provinces whose retention the user may see: all for central staff, their own for a province."""
    return Organisation.objects.visible_to(user).filter(kind=Kind.PROVINCE).order_by("code")


def retention_province_get(*, user: AnyUser, code: str) -> Organisation:
    """A province in the user's scope; 404 for another province's code, a site's, the nation's and a missing one."""
    province = retention_provinces(user=user).filter(code=code).first()
    if province is None:
        raise Http404("no such province")
    return province


def retention_province_get_to_manage(*, user: AnyUser, code: str) -> Organisation:
    """As ``retention_province_get`` (404 first), and the user must hold the right to set retention (else 403)."""
    province = retention_province_get(user=user, code=code)
    Permissions(user).require(Action.RETENTION_MANAGE, province)
    return province


def retention_table(*, user: AnyUser, only: Organisation | None = None) -> list[RetentionRow]:
    """Per province in scope (or ``only`` that one, already fetched in scope): days in force and the oldest kept day.

    The same few queries and one scoped Elasticsearch aggregation, whatever the number of provinces.
    """
    provinces = [only] if only is not None else list(retention_provinces(user=user))
    national = settings.EVENT_RETENTION_DAYS
    overrides = {r.organisation_id: r for r in ProvinceRetention.objects.filter(organisation__in=provinces)}
    oldest = _oldest_index_by_province(user=user, provinces=provinces)
    rows = []
    for province in provinces:
        own = overrides.get(province.pk)
        days = own.days if own is not None else national
        index = oldest.get(province.pk)
        rows.append(RetentionRow(
            organisation=province, days=days, national_days=national,
            origin=RetentionOrigin.OVERRIDE if own is not None else RetentionOrigin.NATIONAL,
            updated_at=own.updated_at if own is not None else None, oldest_index=index,
            deletable_from=_deletable_from(index, days)))
    return rows


def _oldest_index_by_province(*, user: AnyUser, provinces: list[Organisation]) -> dict[int, str]:
    """Province pk -> the oldest events index holding its events (its sites' included), read in the user's scope.

    Index names end in the day (``...events-YYYY.MM.DD``), so the smallest name is the oldest day.
    Elasticsearch being unreachable leaves the column empty rather than failing the page.
    """
    if not provinces:
        return {}
    province_of = {}
    for code, path in Organisation.objects.filter(
            Q.create([("path__startswith", p.path) for p in provinces], connector=Q.OR)).values_list("code", "path"):
        province_of[code] = next(p.pk for p in provinces if path.startswith(p.path))
    try:
        answer = es.scoped_search(
            user=user, query={"terms": {"organization.id": sorted(province_of)}}, size=0,
            aggs={"orgs": {"terms": {"field": "organization.id", "size": 10_000},
                           "aggs": {"oldest": {"terms": {"field": "_index", "size": 1, "order": {"_key": "asc"}}}}}})
    except (ApiError, TransportError) as exc:
        logger.warning("retention table: oldest event indices unavailable: %s", exc)
        return {}
    oldest: dict[int, str] = {}
    for bucket in answer.get("aggregations", {}).get("orgs", {}).get("buckets", []):
        province = province_of.get(bucket["key"])
        first = bucket["oldest"]["buckets"]
        if province is not None and first and (province not in oldest or first[0]["key"] < oldest[province]):
            oldest[province] = first[0]["key"]
    return oldest


def _deletable_from(index: str | None, days: int) -> date | None:
    """The hourly task deletes a day once it is more than ``days`` days before today (UTC)."""
    if index is None:
        return None
    day = es.index_day(index)
    return None if day is None else day + timedelta(days=days + 1)


# --- logs uploaded to be detected on ------------------------------------------------------------------------------

# A queued upload's message is taken within seconds; one still queued after this was never sent.
BACKFILL_QUEUED_GRACE = timedelta(minutes=2)


def backfill_upload_list(*, user: AnyUser) -> BackfillUploadQuerySet:
    return BackfillUpload.objects.visible_to(user).select_related("organisation", "collector", "uploaded_by")


def backfill_upload_get(*, user: AnyUser, uid: str) -> BackfillUpload:
    """404 for a missing upload and for another province's alike."""
    upload = backfill_upload_list(user=user).filter(uid=uid).first()
    if upload is None:
        raise Http404("no such upload")
    return upload


def backfill_provinces(*, user: AnyUser) -> QuerySet[Organisation]:
    """The provinces the user may upload logs for: where they may file incidents (the upload's alerts open some)."""
    return Permissions(user).organisations(Action.FILE).filter(kind=Kind.PROVINCE).order_by("code")


def backfill_uploads_stalled(*, now: datetime, read_seconds: int) -> list[int]:
    """Uploads whose reading never started (its message lost: the broker was down at upload) or was killed."""
    queued = Q(status=BackfillStatus.QUEUED, created_at__lt=now - BACKFILL_QUEUED_GRACE)
    killed = Q(status=BackfillStatus.RUNNING, started_at__lt=now - timedelta(seconds=read_seconds))
    return list(BackfillUpload.objects.filter(queued | killed).values_list("pk", flat=True))
