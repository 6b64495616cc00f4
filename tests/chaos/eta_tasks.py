"""A task for the ETA test only; loaded into its worker with ``--include``."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from redis import Redis

from soc.tasks import OnceTask


@shared_task(base=OnceTask, bind=True)
def count_delivery(self: OnceTask, key: str) -> None:
    Redis.from_url(settings.REDIS_URL).incr(key)


@shared_task(bind=True, acks_late=True)
def count_delivery_unguarded(self: object, key: str) -> None:
    Redis.from_url(settings.REDIS_URL).incr(key)
