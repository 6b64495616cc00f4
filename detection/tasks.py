"""Celery entry points for detection: take ids, call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from detection.evidence import evidence_indices_delete_unreferenced
from detection.models import DetectionRule
from detection.services import BATCHED_KINDS, due_rule_ids, rule_runs_fold, rules_run
from soc.queues import Queue

# Sigma and indicator rules per _msearch task: one search request for many rules.
BATCH = 50


@shared_task(queue=Queue.DETECTION, acks_late=True, ignore_result=True)
def run_due_rules() -> int:
    """Fan out: batches of search rules, and one task per aggregation rule, so none waits on another."""
    ids = due_rule_ids(now=timezone.now())
    kinds = dict(DetectionRule.objects.filter(pk__in=ids).values_list("pk", "kind"))
    batched = [i for i in ids if kinds.get(i) in BATCHED_KINDS]
    # Single rules first: each is one short task, so a cycle's large batches never delay them.
    for rule_id in ids:
        if rule_id not in batched:
            run_rules.apply_async(args=([rule_id],), queue=Queue.DETECTION, expires=60)
    for start in range(0, len(batched), BATCH):
        run_rules.apply_async(args=(batched[start : start + BATCH],), queue=Queue.DETECTION, expires=60)
    return len(ids)


@shared_task(queue=Queue.DETECTION, acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def run_rules(rule_ids: list[int]) -> None:
    rules_run(rule_ids=rule_ids)


@shared_task(queue=Queue.DEFAULT, acks_late=True, ignore_result=True, soft_time_limit=1800, time_limit=1900)
def fold_rule_runs() -> int:
    """Idempotent: each day is folded and deleted in one transaction."""
    return rule_runs_fold(now=timezone.now())


@shared_task(queue=Queue.DEFAULT, acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=360)
def delete_unreferenced_evidence() -> list[str]:
    return evidence_indices_delete_unreferenced()
