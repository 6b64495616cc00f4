"""Faults under load: kill -9 of every moving part while an attack is being shipped.

A writer appends sshd lines (benign logins and K brute-force attackers, each
6 failures in a burst) to a file a real collector tails; uvicorn, the Celery
worker (main process and its child), beat and the collector are killed with
SIGKILL at random moments and started again. Afterwards every line must be in
Elasticsearch exactly once and every attacker must have exactly one incident.

The short version runs in `make test`; `make chaos` runs it at size
(SOC_CHAOS_LINES=1000000, SOC_CHAOS_KILLS=20 or more).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from incidents.models import Incident
from tests.chaos.workload import LINES, RATE, start_attack, stored_lines, wait_until
from tests.conftest import EnrolledCollector
from tests.processes import Platform, wait_http

KILLS = int(os.environ.get("SOC_CHAOS_KILLS", "8"))
TARGETS = ("agent", "web", "worker", "worker-child", "beat")


class Chaos:
    def __init__(self, platform: Platform, agent_args: list[str]) -> None:
        self.platform = platform
        self.agent_args = agent_args
        self.kills: Counter[str] = Counter()
        self.recovery: list[float] = []

    def kill_one(self, target: str) -> None:
        p = self.platform
        if target == "worker-child":
            self.kill_worker_child()
            return
        p.kill9(target)
        self.kills[target] += 1
        began = time.monotonic()
        p.restart(target)
        if target == "web":
            wait_http(f"{p.base}/login/")
        self.recovery.append(time.monotonic() - began)

    def kill_worker_child(self) -> None:
        """SIGKILL the pool process; the main process forks a replacement."""
        deadline = time.monotonic() + 20  # a just-restarted worker may not have forked yet
        while time.monotonic() < deadline:
            children = subprocess.run(["pgrep", "-P", str(self.platform.procs["worker"].pid)],
                                      capture_output=True, text=True, check=False).stdout.split()
            if children:
                for pid in children:
                    os.kill(int(pid), signal.SIGKILL)
                self.kills["worker-child"] += 1
                return
            time.sleep(0.2)
        raise AssertionError("the Celery worker never forked a child to kill")

    def run(self, until: threading.Event, rng: random.Random) -> None:
        """KILLS kills at random moments, every target in turn (shuffled), while the writer runs."""
        order = [t for _ in range(KILLS // len(TARGETS) + 1) for t in rng.sample(TARGETS, len(TARGETS))]
        for target in order[:KILLS]:
            time.sleep(rng.uniform(0.3, 1.5))
            self.kill_one(target)
        until.wait()


# Writing takes LINES / RATE seconds and draining LINES / 200 at worst: at make chaos's size that is far
# beyond the suite's 5-minute default.
@pytest.mark.timeout(int(300 + LINES / RATE + LINES / 200))
def test_kill_9_everywhere_loses_nothing_and_doubles_nothing(
        platform: Platform, es: Any, hni_collector: EnrolledCollector, tmp_path: Path) -> None:
    attack = start_attack(platform, hni_collector, tmp_path)
    attackers = attack.attackers
    chaos = Chaos(platform, [])
    began = time.monotonic()
    chaos.run(attack.written, random.Random(int(os.environ.get("SOC_CHAOS_SEED", "7"))))
    attack.writer.join()

    drained = wait_until(lambda: stored_lines(es)[0] >= LINES, timeout=60 + LINES / 200)
    opened = wait_until(lambda: Incident.objects.count() >= len(attackers), timeout=60 + len(attackers) / 20)
    time.sleep(3)  # a few more detection cycles: twins would show up now
    total, doubled = stored_lines(es)
    keys = Counter(Incident.objects.values_list("dedup_key", flat=True))
    print(f"\nchaos: {LINES} lines, kills {dict(chaos.kills)}, stored {total} ({doubled} doubled), "
          f"incidents {sum(keys.values())}/{len(attackers)}, recovery max {max(chaos.recovery, default=0):.1f}s, "
          f"wall {time.monotonic() - began:.0f}s")

    assert sum(chaos.kills.values()) >= KILLS
    assert drained and total == LINES and doubled == 0, platform.logs()
    assert opened and len(keys) == len(attackers), platform.logs()
    assert max(keys.values()) == 1
    assert {k.rsplit(":", 1)[1] for k in keys} == attackers  # entity:<province>:<kind>:<ip>
