"""Celery entry points for collectors: take ids or nothing, call a service; idempotent."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from collectors.selectors import Health, backfill_uploads_stalled, collector_health, collectors_to_check
from collectors.services import (
    BACKFILL_READ_SECONDS,
    IngestBusy,
    backfill_upload_read,
    collector_clear_silent,
    collector_flag_silent,
    event_indices_delete_expired,
)
from soc.queues import Queue


@shared_task(queue=Queue.DEFAULT, acks_late=True, ignore_result=True)
def check_collector_health() -> int:
    """Flag collectors that went offline or silent (one incident each); clear those that recovered.

    A collector that never sent a heartbeat is not flagged: it is enrolled but not started yet; nor is one
    whose last heartbeat ended a one-off run (``Health.FINISHED``: a replay of exported logs is over).
    """
    now = timezone.now()
    flagged = 0
    for collector in collectors_to_check():
        state = collector_health(collector, now=now)
        if state in (Health.OFFLINE, Health.SILENT) and collector.last_heartbeat_at is not None:
            flagged += collector_flag_silent(collector=collector, state=state, now=now)
        elif collector.silent_since is not None:
            collector_clear_silent(collector=collector)
    return flagged


@shared_task(queue=Queue.DEFAULT, acks_late=True, ignore_result=True,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def delete_expired_event_indices() -> list[str]:
    return event_indices_delete_expired(now=timezone.now())


@shared_task(queue=Queue.INGEST, acks_late=True, ignore_result=True, soft_time_limit=3600,
             time_limit=BACKFILL_READ_SECONDS,
             autoretry_for=(IngestBusy, ConnectionError), retry_backoff=30, max_retries=8)
def read_backfill_upload(upload_id: int) -> None:
    """Resumes where a crashed or retried run stopped (``backfill_upload_read``)."""
    backfill_upload_read(upload_id=upload_id)


@shared_task(queue=Queue.DEFAULT, acks_late=True, ignore_result=True)
def requeue_stalled_backfill_uploads() -> list[int]:
    """Nothing uploaded is left unread: a lost message is sent again, a killed reading resumes."""
    stalled = backfill_uploads_stalled(now=timezone.now(), read_seconds=BACKFILL_READ_SECONDS)
    for upload_id in stalled:
        read_backfill_upload.apply_async(args=(upload_id,), queue=Queue.INGEST)
    return stalled
