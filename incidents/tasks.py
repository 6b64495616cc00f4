"""Celery entry points for incidents: take ids (or nothing), call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from incidents.services.requests import request_escalate_overdue


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True,
             max_retries=3)
def escalate_overdue_requests() -> int:
    """Idempotent: each overdue request is escalated once (escalated_at), rows locked with SKIP LOCKED.

    Queued on ``Queue.NOTIFICATIONS`` by its beat entry (soc/beat.py)."""
    return len(request_escalate_overdue(now=timezone.now()))
