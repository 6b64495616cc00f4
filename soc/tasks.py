"""Celery task base that keeps a redelivered message from running twice.

With the Redis broker, a message not acknowledged within the visibility
timeout is delivered again, even while the first worker still holds it, e.g.
for an ETA or countdown longer than that timeout. ``OnceTask`` claims each
task id in Redis before running: a second delivery of a running or finished
task is acknowledged and skipped. The claim on a *running* task expires
(``claim_seconds``), so a delivery after a worker died still runs it.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.core.cache import cache

DONE_SECONDS = 7 * 24 * 3600


class OnceTask(Task):
    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    claim_seconds = 600

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = self.request.id
        if task_id is None:  # called directly, not through a broker
            return super().__call__(*args, **kwargs)
        if cache.get(f"task-done:{task_id}") or not cache.add(f"task-run:{task_id}", 1, self.claim_seconds):
            return None
        try:
            result = super().__call__(*args, **kwargs)
        except BaseException:
            cache.delete(f"task-run:{task_id}")  # let a retry or redelivery run it
            raise
        cache.set(f"task-done:{task_id}", 1, DONE_SECONDS)
        return result
