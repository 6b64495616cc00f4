"""Celery entry points for detection: take ids, call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from detection.services import due_rule_ids, rule_run
from soc.queues import Queue


@shared_task(queue=Queue.DETECTION, acks_late=True, ignore_result=True)
def run_due_rules() -> int:
    """Fan out one task per due rule, so a slow rule cannot hold up the others."""
    ids = due_rule_ids(now=timezone.now())
    for rule_id in ids:
        run_rule.apply_async(args=(rule_id,), queue=Queue.DETECTION, expires=60)
    return len(ids)


@shared_task(queue=Queue.DETECTION, acks_late=True, ignore_result=True,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def run_rule(rule_id: int) -> None:
    rule_run(rule_id=rule_id)
