"""Celery entry points for detection: take ids, call a service."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from detection.evidence import evidence_indices_delete_unreferenced
from detection.services import due_batches, rule_runs_fold, rules_run
from soc.queues import Queue


@shared_task(queue=Queue.DETECTION, acks_late=True, ignore_result=True)
def run_due_rules() -> int:
    """Fan out the due rules as ``due_batches`` groups them: a task each."""
    tick = timezone.now()
    batches = due_batches(now=tick)
    for rule_ids in batches:
        run_rules.apply_async(args=(rule_ids, tick.isoformat()), queue=Queue.DETECTION, expires=60)
    return sum(len(rule_ids) for rule_ids in batches)


@shared_task(queue=Queue.DETECTION, acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def run_rules(rule_ids: list[int], tick: str | None = None) -> None:
    rules_run(rule_ids=rule_ids, tick=datetime.fromisoformat(tick) if tick else None)


@shared_task(queue=Queue.DEFAULT, acks_late=True, ignore_result=True, soft_time_limit=1800, time_limit=1900)
def fold_rule_runs() -> int:
    """Idempotent: each day is folded and deleted in one transaction."""
    return rule_runs_fold(now=timezone.now())


@shared_task(queue=Queue.DEFAULT, acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=360)
def delete_unreferenced_evidence() -> list[str]:
    return evidence_indices_delete_unreferenced()
