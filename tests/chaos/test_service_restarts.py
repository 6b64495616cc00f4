"""Restart Redis (10 times), PostgreSQL and Elasticsearch while an attack is being shipped.

The collector retries until the central side confirms, tasks are acknowledged
late and rule checkpoints live in PostgreSQL: afterwards every line is in
Elasticsearch exactly once and every attacker has exactly one incident. The
services must have been started by this run (`make test` does), since the test
restarts them through scripts/services.sh.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from incidents.models import Incident
from tests.chaos.workload import start_attack, stored_lines, wait_until
from tests.conftest import EnrolledCollector
from tests.processes import ROOT, Platform

REDIS_RESTARTS = 10


def restart(name: str) -> float:
    if not os.environ.get("SOC_TEST_OWNS_SERVICES"):
        pytest.skip("restarts shared services: only under scripts/test.sh, which owns the ones it started")
    began = time.monotonic()
    done = subprocess.run([str(ROOT / "scripts" / "services.sh"), "restart", name], capture_output=True,
                          text=True, check=False, timeout=180)
    if done.returncode == 3:
        pytest.skip(f"{name} was not started by this run; `make test` starts the services it restarts")
    assert done.returncode == 0, done.stderr
    return time.monotonic() - began


def test_restarting_redis_postgres_and_elasticsearch_loses_nothing(
        platform: Platform, es: Any, hni_collector: EnrolledCollector, tmp_path: Path) -> None:
    attack = start_attack(platform, hni_collector, tmp_path)
    bodies, attackers, writer = attack.bodies, attack.attackers, attack.writer
    downtime: dict[str, float] = {"redis": 0.0, "postgres": 0.0, "es": 0.0}
    for _ in range(REDIS_RESTARTS):
        time.sleep(0.5)
        downtime["redis"] += restart("redis")
    downtime["postgres"] += restart("postgres")
    downtime["es"] += restart("es")
    writer.join()
    connection.close()  # the test's own connection died with the PostgreSQL restart

    drained = wait_until(lambda: stored_lines(es)[0] >= len(bodies), timeout=180)
    opened = wait_until(lambda: Incident.objects.count() >= len(attackers), timeout=120)
    time.sleep(3)
    total, doubled = stored_lines(es)
    keys = Counter(Incident.objects.values_list("dedup_key", flat=True))
    print(f"\nrestarts: redis x{REDIS_RESTARTS}, postgres, elasticsearch; restart seconds {dict(downtime)}; "
          f"stored {total}/{len(bodies)} ({doubled} doubled); incidents {sum(keys.values())}/{len(attackers)}")

    assert drained and total == len(bodies) and doubled == 0, platform.logs()
    assert opened and len(keys) == len(attackers) and max(keys.values()) == 1, platform.logs()
