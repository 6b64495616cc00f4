"""Celery entry points for readiness: take plain values, call a service."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.utils import timezone
from elastic_transport import TransportError

from readiness.services import scorecards_compute_if_due, scorecards_recompute
from soc.queues import Queue


@shared_task(queue=Queue.REPORTS, acks_late=True, ignore_result=True,
             autoretry_for=(ConnectionError, TransportError), retry_backoff=True, max_retries=5)
def compute_yesterday_if_due() -> str:
    """Hourly: yesterday's scorecards, once, after the day has settled. Idempotent."""
    return scorecards_compute_if_due(now=timezone.now())


@shared_task(queue=Queue.REPORTS, acks_late=True, ignore_result=True,
             autoretry_for=(ConnectionError, TransportError), retry_backoff=True, max_retries=5)
def recompute_period(start: str, end: str) -> int:
    return scorecards_recompute(start=date.fromisoformat(start), end=date.fromisoformat(end))
