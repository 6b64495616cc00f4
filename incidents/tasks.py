"""Celery entry points for incidents: take ids (or nothing), call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from incidents.services import request_escalate_overdue
from soc.queues import Queue

ESCALATION_INTERVAL_SECONDS = 60


@shared_task(queue=Queue.NOTIFICATIONS, acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def escalate_overdue_requests() -> int:
    """Idempotent: each overdue request is escalated once (escalated_at), rows locked with SKIP LOCKED."""
    return len(request_escalate_overdue(now=timezone.now()))
