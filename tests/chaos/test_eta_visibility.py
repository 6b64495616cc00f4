"""A task whose ETA lies beyond the broker's visibility timeout runs once, not twice."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from redis import Redis

from tests.chaos.eta_tasks import count_delivery, count_delivery_unguarded
from tests.processes import Platform

VISIBILITY = 3  # seconds; the countdown below is longer on purpose
COUNTDOWN = 20


def start_worker(platform: Platform, name: str) -> None:
    platform.spawn(name, "-m", "celery", "-A", "soc", "worker", "-Q", "eta-test", "-c", "1", "-n", f"{name}@%h",
                   "--include", "tests.chaos.eta_tasks", "--without-gossip", "--without-mingle", "-l", "info")


@pytest.fixture
def workers(transactional_db: None, tmp_path: Path) -> Any:
    platform = Platform(tmp_path)
    platform.env["SOC_CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY)
    start_worker(platform, "worker-a")
    time.sleep(4)  # consuming
    yield platform
    platform.stop()


def deliveries(key: str) -> int:
    value: Any = Redis.from_url(settings.REDIS_URL).get(key)
    return int(value or 0)


def test_a_task_past_the_visibility_timeout_runs_exactly_once(workers: Platform) -> None:
    guarded, unguarded = f"eta:{uuid.uuid4()}", f"eta:{uuid.uuid4()}"
    count_delivery.apply_async(args=(guarded,), countdown=COUNTDOWN, queue="eta-test")
    count_delivery_unguarded.apply_async(args=(unguarded,), countdown=COUNTDOWN, queue="eta-test")
    # worker-a now holds both, unacknowledged, until their ETA. A worker that starts after the
    # visibility timeout restores them as "lost" and gets them too: the classic double run.
    time.sleep(VISIBILITY + 3)
    start_worker(workers, "worker-b")

    deadline = time.monotonic() + COUNTDOWN + 3 * VISIBILITY + 10
    while time.monotonic() < deadline and deliveries(guarded) == 0:
        time.sleep(0.5)
    time.sleep(2 * VISIBILITY + 2)  # time for any second delivery to run

    assert deliveries(guarded) == 1, workers.logs()
    # The same delivery without the guard ran twice: the scenario really redelivered.
    assert deliveries(unguarded) == 2, workers.logs()
