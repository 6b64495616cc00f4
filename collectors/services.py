"""Writes for collectors: enrollment, credentials, revocation, heartbeats, silence, retention."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext
from elasticsearch import ApiError

from collectors.agent.config import ConfigError, central_overrides
from collectors.backfill_files import UnreadableFile, format_of, items_of
from collectors.ingest import ingest_batch
from collectors.models import (
    BackfillFormat,
    BackfillStatus,
    BackfillUpload,
    Collector,
    EnrollmentToken,
    ProvinceRetention,
)
from collectors.selectors import retention_days_by_org_code
from incidents.models import Category, Severity
from incidents.services.intake import incident_open_or_touch_for_detection
from organisations.actors import Actor
from organisations.models import Kind, Organisation
from organisations.selectors import AnyUser
from organisations.services import audit_record
from soc import es
from soc.queues import Queue


class EnrollmentError(Exception):
    """The enrollment token is unknown, used or expired (one message for all)."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def enrollment_token_create(
    *, organisation: Organisation, created_by: AnyUser | None, ttl: timedelta = timedelta(hours=24),
    actor: Actor | None = None,
) -> str:
    """Returns the token once; only its digest is kept (the audit entry holds its id and expiry, never it)."""
    token = "enr_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        enrollment = EnrollmentToken.objects.create(
            organisation=organisation, token_hash=digest(token), expires_at=timezone.now() + ttl,
            created_by_id=created_by.pk if created_by is not None and created_by.is_authenticated else None,
        )
        audit_record(actor=actor or Actor.system(), action="collector.enrollment_token_created",
                     object_type="enrollment_token", object_ref=str(enrollment.pk), organisation=organisation,
                     after={"expires_at": enrollment.expires_at.isoformat()})
    return token


def collector_enroll(*, token: str, name: str, version: str = "") -> tuple[Collector, str]:
    """Trade a one-time enrollment token for the collector's own credential."""
    with transaction.atomic():
        enrollment = (
            EnrollmentToken.objects.select_for_update()
            .filter(token_hash=digest(token), used_at__isnull=True, expires_at__gt=timezone.now())
            .select_related("organisation")
            .first()
        )
        if enrollment is None:
            raise EnrollmentError("enrollment token is invalid, used or expired")
        try:
            with transaction.atomic():
                collector, secret = collector_create(
                    organisation=enrollment.organisation, name=name, version=version)
        except IntegrityError as exc:
            raise EnrollmentError(f"a collector named {name!r} is already enrolled here") from exc
        enrollment.used_at = timezone.now()
        enrollment.collector = collector
        enrollment.save(update_fields=["used_at", "collector"])
    return collector, secret


def collector_create(
    *, organisation: Organisation, name: str, version: str = "", actor: Actor | None = None,
) -> tuple[Collector, str]:
    """A new collector and its credential (returned once). ``actor`` defaults to the system (enrollment, seeding)."""
    secret = "col_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        collector = Collector.objects.create(
            organisation=organisation, name=name, version=version, secret_hash=digest(secret)
        )
        audit_record(actor=actor or Actor.system(), action="collector.created", object_type="collector",
                     object_ref=str(collector.uid), organisation=organisation,
                     after={"name": name, "version": version})
    return collector, secret


def collector_authenticate(*, secret: str) -> Collector | None:
    """The active collector holding this credential, or None (unknown or revoked), its organisation loaded."""
    if not secret or len(secret) > 200:
        return None
    key = digest(secret)
    return collector_authenticate_many(digests=[key]).get(key)


AUTHENTICATE_CHUNK = 1_000  # digests in one statement: its text and plan stay small


def collector_authenticate_many(*, digests: Collection[str]) -> dict[str, Collector]:
    """The active collectors holding these secrets (by digest): digest -> collector, its organisation loaded;
    unknown and revoked digests are absent.

    ``Collector.objects.select_related("organisation").filter(secret_hash__in=..., revoked_at__isnull=True)``
    written out once in SQL: it runs for every collector credential a web process checks, and compiling that query
    took the ORM ~0.65 ms of CPU each time; the raw query costs ~0.24 ms.
    """
    found: dict[str, Collector] = {}
    ordered = sorted(digests)
    for start in range(0, len(ordered), AUTHENTICATE_CHUNK):
        for collector in Collector.objects.raw(_authenticate_sql(), [ordered[start:start + AUTHENTICATE_CHUNK]]):
            values = [collector.__dict__.pop(f"org__{name}") for name in _ORGANISATION_FIELDS]
            organisation = Organisation.from_db(collector._state.db, _ORGANISATION_FIELDS, values)
            Collector.organisation.field.set_cached_value(collector, organisation)
            found[collector.secret_hash] = collector
    return found


_ORGANISATION_FIELDS = [field.attname for field in Organisation._meta.concrete_fields]


@cache
def _authenticate_sql() -> str:
    quote, collector, organisation = connection.ops.quote_name, Collector._meta, Organisation._meta
    columns = ", ".join(f"o.{quote(field.column)} AS {quote(f'org__{field.attname}')}"
                        for field in organisation.concrete_fields)
    column = {field.name: quote(field.column) for field in collector.concrete_fields}
    # Only quoted table and column names from the models go into the text; the digests are a parameter.
    return (f"SELECT c.*, {columns} FROM {quote(collector.db_table)} c "  # noqa: S608
            f"JOIN {quote(organisation.db_table)} o ON o.{quote(organisation.pk.column)} = c.{column['organisation']} "
            f"WHERE c.{column['secret_hash']} = ANY(%s::text[]) AND c.{column['revoked_at']} IS NULL")


def collector_revoke(*, collector: Collector, actor: Actor) -> None:
    with transaction.atomic():
        collector.revoked_at = timezone.now()
        collector.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="collector.revoked", object_type="collector",
                     object_ref=str(collector.uid), organisation=collector.organisation,
                     after={"revoked_at": collector.revoked_at.isoformat()})
    # This process stops accepting the credential now; the others within the bound of ``collectors.credentials``.
    from collectors.credentials import credential_forget  # it imports this module

    credential_forget(collector=collector)


def collectors_mark_seen(*, seen: dict[int, datetime]) -> None:
    """Each collector's last accepted batch (collector pk -> when), in one statement; never moved backwards (several
    web processes write it, each from its own memory: ``collectors.contact``)."""
    if not seen:
        return
    with connection.cursor() as cursor:
        cursor.execute(_seen_sql(), [list(seen), list(seen.values())])


@cache
def _seen_sql() -> str:
    quote, meta = connection.ops.quote_name, Collector._meta
    table, pk, seen = quote(meta.db_table), quote(meta.pk.column), quote(meta.get_field("last_seen_at").column)
    # Only quoted table and column names from the model go into the text; the values are parameters.
    return (f"UPDATE {table} AS c SET {seen} = GREATEST(c.{seen}, v.at) "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
            f"WHERE c.{pk} = v.id")


# A heartbeat to record: the agent's report as ``_bounded_report`` keeps it, its version, and when it arrived.
Beat = tuple[dict[str, Any], str, datetime]


def collector_heartbeat_report(report: dict[str, Any]) -> Beat:
    """What is kept of an agent's report (``collector_record_heartbeats`` writes it)."""
    return _bounded_report(report), str(report.get("version", ""))[:40], timezone.now()


def collector_record_heartbeat(*, collector: Collector, report: dict[str, Any]) -> dict[str, Any] | None:
    """Keep the agent's latest report; returns the central configuration it must apply, or None when the collector
    has been revoked (the caller's credential check may be a cached one: ``collectors.credentials``)."""
    beat = collector_heartbeat_report(report)
    return collector_apply_heartbeat(collector, beat, collector_record_heartbeats(beats={collector.pk: beat}))


def collector_record_heartbeats(*, beats: dict[int, Beat]) -> dict[int, tuple[Any, int]]:
    """Several collectors' heartbeats (collector pk -> its beat) in one statement, which also reads each one's
    central configuration and its version (so it is current whatever copy of the collector a caller holds): pk ->
    (config, config_version) for each collector still active; a revoked one is not written and not answered."""
    if not beats:
        return {}
    ids, health, at, version = zip(*((pk, json.dumps(b[0]), b[2], b[1]) for pk, b in beats.items()), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(_heartbeat_sql(), [list(ids), list(health), list(at), list(version)])
        rows = cursor.fetchall()
    # Django reads jsonb as text here.
    return {pk: (config if isinstance(config, dict) else json.loads(config), config_version)
            for pk, config, config_version in rows}


def collector_apply_heartbeat(collector: Collector, beat: Beat, answers: dict[int, tuple[Any, int]],
                              ) -> dict[str, Any] | None:
    """The answer to ``collector``'s heartbeat from ``collector_record_heartbeats``'s: its configuration, or None
    (revoked). The caller's copy of the collector is brought up to date with what was written and read."""
    answer = answers.get(collector.pk)
    if answer is None:
        return None
    collector.health, collector.version, collector.last_heartbeat_at = beat
    collector.config, collector.config_version = answer
    return collector.config


@cache
def _heartbeat_sql() -> str:
    quote, meta = connection.ops.quote_name, Collector._meta
    column = {field.name: quote(field.column) for field in meta.concrete_fields}
    # Only quoted table and column names from the model go into the text; the values are parameters.
    return (f"UPDATE {quote(meta.db_table)} AS c SET {column['health']} = v.health::jsonb, "  # noqa: S608
            f"{column['last_heartbeat_at']} = v.at, {column['version']} = v.version "
            "FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::text[]) AS v(id, health, at, version) "
            f"WHERE c.{column[meta.pk.name]} = v.id AND c.{column['revoked_at']} IS NULL "
            f"RETURNING c.{column[meta.pk.name]}, c.{column['config']}, c.{column['config_version']}")


# clock_offset_seconds: central time minus the collector host's, as the agent measured it (clock skew).
AGENT_STATES = ("running", "finished", "stopped")
_REPORT_NUMBERS = ("events_per_second", "oldest_unsent_age", "drops", "errors", "uptime", "clock_offset_seconds")


def _bounded_report(report: dict[str, Any]) -> dict[str, Any]:
    """Only the fields we show, each of a known type and size: the report comes from the field."""
    out: dict[str, Any] = {}
    for key in _REPORT_NUMBERS:
        value = report.get(key)
        out[key] = value if isinstance(value, int | float) and not isinstance(value, bool) else 0
    spool = report.get("spool")
    spool = spool if isinstance(spool, dict) else {}
    out["spool"] = {k: spool.get(k) for k in ("depth", "bytes", "limit", "quarantined")
                    if isinstance(spool.get(k), int)}
    # "finished": the agent's last report of a one-off (--once) run that delivered everything.
    out["state"] = report.get("state") if report.get("state") in AGENT_STATES else "running"
    out["last_error"] = str(report.get("last_error", ""))[:500]
    out["hostname"] = str(report.get("hostname", ""))[:255]
    inputs = report.get("inputs")
    inputs = inputs if isinstance(inputs, list) else []
    out["inputs"] = [
        {k: (v if isinstance(v, int | float) else str(v)[:255]) for k, v in list(item.items())[:12]}
        for item in inputs[:50] if isinstance(item, dict)
    ]
    return out


def collector_configure(*, collector: Collector, config: dict[str, Any], actor: Actor) -> Collector:
    """Set the central configuration; checked with the agent's own rules so it is never half-applied."""
    try:
        checked = central_overrides(config)
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc
    if set(config) - set(checked):
        raise ValueError(f"unknown key(s): {', '.join(sorted(set(config) - set(checked)))}")
    before = {"config": collector.config, "config_version": collector.config_version}
    with transaction.atomic():
        collector.config = checked
        collector.config_version += 1
        collector.save(update_fields=["config", "config_version"])
        audit_record(actor=actor, action="collector.configured", object_type="collector",
                     object_ref=str(collector.uid), organisation=collector.organisation, before=before,
                     after={"config": checked, "config_version": collector.config_version})
    return collector


def collector_flag_silent(*, collector: Collector, state: str, now: datetime) -> bool:
    """Record that a collector went quiet and raise it for its province (one open incident per collector).

    Returns True when this call flagged it (it was not flagged already). The
    conditional UPDATE makes two concurrent checks flag it once.
    """
    flagged = Collector.objects.filter(pk=collector.pk, silent_since__isnull=True).update(silent_since=now)
    if not flagged:
        return False
    province = collector.organisation.province or collector.organisation
    what = "stopped reporting" if state == "offline" else "sends no events"
    incident_open_or_touch_for_detection(
        province=province, dedup_key=f"collector-silent:{collector.uid}",
        title=f"Collector {collector.name} {what}",
        description=(f"Collector {collector.name} ({collector.uid}) of {collector.organisation.code} is {state}: "
                     f"last heartbeat {collector.last_heartbeat_at or 'never'}, "
                     f"last events {collector.last_seen_at or 'never'}. Logs from its sources may be missing."),
        severity=Severity.MEDIUM, category=Category.AVAILABILITY, seen_at=now,
    )
    return True


def collector_clear_silent(*, collector: Collector) -> None:
    Collector.objects.filter(pk=collector.pk).update(silent_since=None)
    collector.silent_since = None


def event_indices_delete_expired(*, now: datetime, days: int | None = None) -> list[str]:
    """Delete whole daily event, dead-letter and ingest-count indices past retention; returns their names.

    ``days`` is the national default (``settings.EVENT_RETENTION_DAYS``); a province may set its
    own (``ProvinceRetention``). Design, within this core-only Elasticsearch build: there is no
    delete-by-query (it lives in the reindex module), so only whole indices can go. Per-province
    daily indices would let each province's days go on time, but 34 provinces x 180 days is
    ~6,000 shards, six times a node's default limit (``cluster.max_shards_per_node``). So the
    provinces share each day's index, and a day is deleted once every province with events in
    it is past its own retention (one terms aggregation per candidate index). Retention is
    therefore a floor: a province's events are never deleted early, and may be kept longer while
    they share days with a province that keeps more. Events without a province use the default.
    """
    default = days if days is not None else settings.EVENT_RETENTION_DAYS
    by_code = retention_days_by_org_code(default_days=default)
    shortest = min([default, *by_code.values()])
    expired: list[str] = []
    for kind in ("events", "deadletter", es.INGEST_STATS):
        names = es.client().indices.get(index=es.index_pattern(kind), allow_no_indices=True,
                                        ignore_unavailable=True, expand_wildcards="open,closed")
        for name in names:
            day = es.index_day(name)
            if day is None or day >= (now - timedelta(days=shortest)).date():
                continue
            keep = [d for d in _retention_days_in(name, by_code, default) if day >= (now - timedelta(days=d)).date()]
            if not keep:
                expired.append(name)
    for name in sorted(expired):
        es.client().options(ignore_status=404).indices.delete(index=name)
    return sorted(expired)


def _retention_days_in(index: str, by_code: dict[str, int], default: int) -> list[int]:
    """The retention days of every organisation with events in ``index``; the index lives to the longest."""
    longest = max([default, *by_code.values()])
    try:
        answer = es.client().search(index=index, size=0, aggs={
            "orgs": {"terms": {"field": "organization.id", "size": 10_000}},
            "none": {"missing": {"field": "organization.id"}},
        })
    except ApiError:  # closed or broken: who is in it is unknown, so it is kept as long as anyone's would be
        return [longest]
    aggs = answer["aggregations"]
    found = [by_code.get(bucket["key"], default) for bucket in aggs["orgs"]["buckets"]]
    if aggs["orgs"]["sum_other_doc_count"]:
        found.append(longest)
    if aggs["none"]["doc_count"]:
        found.append(default)
    return found


# --- Per-province event retention ----------------------------------------------------------------------------

RETENTION_MIN_DAYS, RETENTION_MAX_DAYS = 1, 3650  # as the model's validators


def retention_days_check(value: object) -> int:
    """Days from a form field or an API body (a whole number, digits only), or one clear ValidationError."""
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,9}\s*", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not RETENTION_MIN_DAYS <= value <= RETENTION_MAX_DAYS:
        raise ValidationError(gettext("Retention must be a whole number of days from 1 to 3650."))
    return value


def _retention_state(retention: ProvinceRetention | None) -> dict[str, Any]:
    """What is in force, for the audit log: the override, or the national default at the time."""
    if retention is None:
        return {"days": settings.EVENT_RETENTION_DAYS, "origin": "national"}
    return {"days": retention.days, "origin": "override"}


def province_retention_set(*, organisation: Organisation, days: int, actor: Actor) -> ProvinceRetention:
    """Keep this province's events ``days`` days instead of the national default, from the next hourly run.

    Days are a floor (see ``event_indices_delete_expired``). Setting the value already in force changes
    and records nothing.
    """
    days = retention_days_check(days)
    if organisation.kind != Kind.PROVINCE:
        raise ValidationError(gettext("Retention is set per province."))
    with transaction.atomic():
        current = ProvinceRetention.objects.select_for_update().filter(organisation=organisation).first()
        if current is not None and current.days == days:
            return current
        before = _retention_state(current)
        retention, _created = ProvinceRetention.objects.update_or_create(organisation=organisation,
                                                                         defaults={"days": days})
        audit_record(actor=actor, action="event_retention.set", object_type="event_retention",
                     object_ref=organisation.code, organisation=organisation, before=before,
                     after=_retention_state(retention))
    return retention


def province_retention_clear(*, organisation: Organisation, actor: Actor) -> bool:
    """Drop a province's override so the national default applies again; False when it had none."""
    with transaction.atomic():
        current = ProvinceRetention.objects.select_for_update().filter(organisation=organisation).first()
        if current is None:
            return False
        audit_record(actor=actor, action="event_retention.cleared", object_type="event_retention",
                     object_ref=organisation.code, organisation=organisation, before=_retention_state(current),
                     after=_retention_state(None))
        current.delete()
    return True


# --- logs uploaded to be detected on (collectors.BackfillUpload) --------------------------------------------

BACKFILL_BATCH = 1000  # events per ingest call (INGEST_MAX_EVENTS bounds it too)
BACKFILL_ATTEMPTS = 5  # an Elasticsearch that stays busy longer fails the task, which Celery retries later
# The reading task's hard time limit: a reading started longer ago than this was killed, and may be taken over.
BACKFILL_READ_SECONDS = 3700
# Uploads of one province waiting or being read at once: a province (or a stolen session) cannot fill the disk
# or the ingest queue with files; the next may be sent when one is read.
BACKFILL_IN_FLIGHT_PER_PROVINCE = 5


class IngestBusy(Exception):
    """Elasticsearch kept answering "retry" for some events; the reading resumes where it stopped."""


def backfill_upload_check(*, size: int, file_format: str) -> None:
    """Why an upload is refused before anything is kept (ValidationError), or nothing."""
    if size <= 0:
        raise ValidationError(gettext("The file is empty."))
    limit = settings.BACKFILL_UPLOAD_MAX_BYTES
    if size > limit:
        raise ValidationError(gettext("The file is %(size)s; at most %(max)s can be uploaded here. Send larger "
                                      "sets with the agent (--evtx ... --once).")
                              % {"size": filesizeformat(size), "max": filesizeformat(limit)})
    if file_format not in BackfillFormat.values:
        raise ValidationError(gettext("Unknown format."))


def backfill_upload_create(*, organisation: Organisation, upload: File[Any], file_name: str, file_format: str,
                           host_name: str, actor: Actor) -> BackfillUpload:
    """Keep the file for ``organisation`` and queue its reading (after commit). The caller checked the right to
    file for that province; its events get a collector of their own, revoked from the start (no credential)."""
    backfill_upload_check(size=upload.size or 0, file_format=file_format)
    with transaction.atomic():
        _backfill_check_in_flight(organisation)
        collector = Collector.objects.create(
            organisation=organisation, name=f"upload-{secrets.token_hex(6)}",
            secret_hash=digest(secrets.token_urlsafe(32)), revoked_at=timezone.now(), version="console upload")
        record = BackfillUpload(organisation=organisation, collector=collector, uploaded_by=actor.user,
                                file_name=file_name[:255], size_bytes=upload.size or 0, format=file_format,
                                host_name=host_name[:255])
        record.file.save(f"{record.uid}.log", upload, save=False)
        record.save()
        audit_record(actor=actor, action="backfill.uploaded", object_type="backfill_upload",
                     object_ref=str(record.uid), organisation=organisation,
                     after={"file_name": record.file_name, "size_bytes": record.size_bytes, "format": file_format,
                            "host_name": record.host_name, "collector": str(collector.uid)})
        _on_commit_read(record.pk)
    return record


def _backfill_check_in_flight(organisation: Organisation) -> None:
    """Refuse a new upload while the province has BACKFILL_IN_FLIGHT_PER_PROVINCE waiting or being read. The
    province row is locked for the count, so two uploads sent at once cannot both pass it."""
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    waiting = BackfillUpload.objects.filter(organisation=organisation,
                                            status__in=(BackfillStatus.QUEUED, BackfillStatus.RUNNING)).count()
    if waiting >= BACKFILL_IN_FLIGHT_PER_PROVINCE:
        raise ValidationError(gettext("%(n)s files of this province are waiting or being read, the most at once: "
                                      "send this one when one of them is done.") % {"n": waiting})


def _on_commit_read(upload_id: int) -> None:
    from soc.celery import app  # the task module imports this one

    transaction.on_commit(lambda: app.send_task("collectors.tasks.read_backfill_upload", args=[upload_id],
                                                queue=Queue.INGEST), robust=True)


def backfill_upload_read(*, upload_id: int) -> BackfillUpload:
    """Store the upload's events through the ingest, resuming after the events already counted as read.

    Idempotent: event ids are stable (``collectors.backfill_files``), so what a crashed run stored before its
    count was saved comes back ``duplicate``. The file is deleted once read to its end (or found unreadable).
    """
    now = timezone.now()
    # One reader at a time: a second message for the same upload (re-sent by the sweep) finds it taken.
    takeable = Q(status=BackfillStatus.QUEUED) | Q(status=BackfillStatus.RUNNING,
                                                   started_at__lt=now - timedelta(seconds=BACKFILL_READ_SECONDS))
    claimed = BackfillUpload.objects.filter(takeable, pk=upload_id).update(status=BackfillStatus.RUNNING,
                                                                          started_at=now)
    upload = BackfillUpload.objects.select_related("collector__organisation").get(pk=upload_id)
    if not claimed:
        return upload
    try:
        _read_into_events(upload)
    except UnreadableFile as exc:
        return _backfill_finish(upload, BackfillStatus.FAILED, str(exc))
    except IngestBusy:
        BackfillUpload.objects.filter(pk=upload_id).update(status=BackfillStatus.QUEUED)  # the retry takes it
        raise
    return _backfill_finish(upload, BackfillStatus.DONE, "")


def _read_into_events(upload: BackfillUpload) -> None:
    path = Path(upload.file.path)
    file_format = format_of(path, upload.format)
    if file_format != upload.format:
        BackfillUpload.objects.filter(pk=upload.pk).update(format=file_format)
    host = upload.host_name or Path(upload.file_name).stem[:100] or "upload"
    items = islice(items_of(path, file_format, host=host, now=upload.created_at), upload.events_read, None)
    size = min(BACKFILL_BATCH, settings.INGEST_MAX_EVENTS)
    while batch := list(islice(items, size)):
        counts = _backfill_store(upload.collector, batch)
        BackfillUpload.objects.filter(pk=upload.pk).update(
            events_read=F("events_read") + len(batch), events_stored=F("events_stored") + counts["created"],
            events_duplicate=F("events_duplicate") + counts["duplicate"],
            events_refused=F("events_refused") + counts["rejected"])


def _backfill_store(collector: Collector, batch: list[dict[str, Any]]) -> Counter[str]:
    """Each event's answer (created, duplicate, rejected: kept in the dead-letter index with the reason)."""
    counts: Counter[str] = Counter()
    unique: dict[str, dict[str, Any]] = {}
    for item in batch:  # the same record twice in one file (an export repeated): stored once
        if item["id"] in unique:
            counts["duplicate"] += 1
        unique.setdefault(item["id"], item)
    pending = list(unique.values())
    for attempt in range(BACKFILL_ATTEMPTS):
        if attempt:
            time.sleep(0.5 * 2**attempt)
        results = ingest_batch(collector=collector, payload={"events": pending})
        counts.update(r.status for r in results if r.status != "retry")
        retry = {r.id for r in results if r.status == "retry"}
        pending = [item for item in pending if item["id"] in retry]
        if not pending:
            return counts
    raise IngestBusy(f"{len(pending)} events not stored after {BACKFILL_ATTEMPTS} attempts")


def _backfill_finish(upload: BackfillUpload, status: str, error: str) -> BackfillUpload:
    with transaction.atomic():
        BackfillUpload.objects.filter(pk=upload.pk).update(status=status, error=error[:2000],
                                                           finished_at=timezone.now())
        upload.refresh_from_db()
        audit_record(actor=Actor.system(), action="backfill.read", object_type="backfill_upload",
                     object_ref=str(upload.uid), organisation=upload.organisation,
                     after={"status": status, "error": upload.error, "read": upload.events_read,
                            "stored": upload.events_stored, "duplicate": upload.events_duplicate,
                            "refused": upload.events_refused})
    if upload.file:
        upload.file.delete(save=True)
    return upload
