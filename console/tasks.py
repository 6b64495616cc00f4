"""Celery entry points for the console: take ids or nothing, call a service; idempotent."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from console.services import weekly_figures_refresh
from soc.queues import Queue


@shared_task(queue=Queue.REPORTS, acks_late=True, ignore_result=True)
def refresh_weekly_figures() -> int:
    """The dashboard's past weeks (MTTA, MTTR, SLA compliance per province and week); see console.models."""
    return weekly_figures_refresh(now=timezone.now())
