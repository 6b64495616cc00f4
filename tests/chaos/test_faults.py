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
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from detection.models import DetectionRule, RuleKind
from incidents.models import Incident
from organisations.management.commands.seed_demo import SSH_BRUTE_FORCE
from tests.conftest import EnrolledCollector
from tests.processes import Platform, wait_http

LINES = int(os.environ.get("SOC_CHAOS_LINES", "3000"))
KILLS = int(os.environ.get("SOC_CHAOS_KILLS", "8"))
RATE = float(os.environ.get("SOC_CHAOS_RATE", "400"))  # lines per second written at the source
ATTACK_EVERY = 50  # one attacker burst per this many lines
TARGETS = ("agent", "web", "worker", "worker-child", "beat")


def attacker(n: int) -> str:
    return f"198.18.{n // 250}.{n % 250 + 1}"


def workload() -> tuple[list[str], set[str]]:
    """Line bodies (the pid field numbers every line) and the attackers among them."""
    bodies: list[str] = []
    attackers: set[str] = set()
    while len(bodies) < LINES:
        seq = len(bodies)
        if seq % ATTACK_EVERY == 0 and LINES - seq >= 6:
            ip = attacker(len(attackers))
            attackers.add(ip)
            bodies += [f"sshd[{seq + i}]: Failed password for root from {ip} port 22 ssh2" for i in range(6)]
        else:
            bodies.append(f"sshd[{seq}]: Accepted publickey for deploy from 10.20.0.{seq % 250 + 1} port 22 ssh2")
    return bodies, attackers


def write(path: Path, bodies: list[str], done: threading.Event) -> None:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    with path.open("a", encoding="utf-8") as fh:
        for start in range(0, len(bodies), 50):
            stamp = datetime.now(tz).strftime("%b %e %H:%M:%S")
            fh.write("".join(f"{stamp} hni-app-01 {body}\n" for body in bodies[start:start + 50]))
            fh.flush()
            time.sleep(50 / RATE)
    done.set()


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


def stored_lines(es: Any) -> tuple[int, int]:
    """(events stored, lines stored more than once); the pid field numbers every line."""
    index = f"{settings.ES_INDEX_PREFIX}events-*"
    es.indices.refresh(index=index, allow_no_indices=True)
    resp = es.search(index=index, size=0, track_total_hits=True, allow_no_indices=True,
                     aggs={"twice": {"terms": {"field": "process.pid", "min_doc_count": 2, "size": 100}}})
    return resp["hits"]["total"]["value"], len(resp["aggregations"]["twice"]["buckets"])


def wait_until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


@pytest.fixture
def platform(transactional_db: None, es: Any, tmp_path: Path) -> Any:
    running = Platform(tmp_path)
    running.start()
    yield running
    running.stop()


def test_kill_9_everywhere_loses_nothing_and_doubles_nothing(
        platform: Platform, es: Any, hni_collector: EnrolledCollector, tmp_path: Path) -> None:
    DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params=SSH_BRUTE_FORCE,
                                 severity="high", category="intrusion_attempts", interval_seconds=1)
    bodies, attackers = workload()
    secret = tmp_path / "secret"
    secret.write_text(hni_collector.secret)
    log = tmp_path / "auth.log"
    log.touch()
    platform.spawn("agent", "-m", "collectors.agent", "run", "--url", f"{platform.base}/api/v1",
                   "--secret-file", str(secret), "--path", str(log), "--state-dir", str(tmp_path / "state"))
    written = threading.Event()
    writer = threading.Thread(target=write, args=(log, bodies, written))
    chaos = Chaos(platform, [])
    began = time.monotonic()
    writer.start()
    chaos.run(written, random.Random(int(os.environ.get("SOC_CHAOS_SEED", "7"))))
    writer.join()

    drained = wait_until(lambda: stored_lines(es)[0] >= LINES, timeout=60 + LINES / 200)
    opened = wait_until(lambda: Incident.objects.count() >= len(attackers), timeout=60)
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
