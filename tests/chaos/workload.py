"""The workload of the fault tests: a collector shipping sshd lines with brute-force bursts.

A writer appends lines (benign logins and K attackers, each 6 failures in a
burst) to a file a real collector tails; the pid field numbers every line, so
a stored line can be counted exactly once.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from detection.models import DetectionRule, RuleKind
from soc.management.commands.seed_demo import SSH_BRUTE_FORCE
from tests.conftest import EnrolledCollector
from tests.processes import Platform

LINES = int(os.environ.get("SOC_CHAOS_LINES", "3000"))
RATE = float(os.environ.get("SOC_CHAOS_RATE", "400"))  # lines per second written at the source
# One attacker burst per this many lines: 60 attackers in the suite's 3,000 lines, at most about 2,000 at make
# chaos's size (a brute-force wave, not 20,000 distinct incidents in three minutes).
ATTACK_EVERY = max(50, LINES // 2000)


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


@dataclass
class Attack:
    bodies: list[str]
    attackers: set[str]
    writer: threading.Thread
    written: threading.Event


def start_attack(platform: Platform, collector: EnrolledCollector, tmp: Path) -> Attack:
    """The brute-force rule, a collector tailing auth.log, and a writer filling it (started)."""
    # The cap is raised so that a run catching up after a kill may alert every attacker it finds: the test
    # counts misses, and a capped run would report its extra findings instead of alerting them.
    DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params=SSH_BRUTE_FORCE,
                                 severity="high", category="intrusion_attempts", interval_seconds=1,
                                 max_alerts_per_run=10_000)
    bodies, attackers = workload()
    secret = tmp / "secret"
    secret.write_text(collector.secret)
    log = tmp / "auth.log"
    log.touch()
    platform.spawn("agent", "-m", "collectors.agent", "run", "--url", f"{platform.base}/api/v1",
                   "--secret-file", str(secret), "--path", str(log), "--state-dir", str(tmp / "state"))
    written = threading.Event()
    writer = threading.Thread(target=write, args=(log, bodies, written))
    writer.start()
    return Attack(bodies, attackers, writer, written)


def stored_lines(es: Any) -> tuple[int, int]:
    """(events stored, lines stored more than once); the pid field numbers every line."""
    index = f"{settings.ES_INDEX_PREFIX}events-*"
    es.indices.refresh(index=index, allow_no_indices=True)
    resp = es.search(index=index, size=0, track_total_hits=True, allow_no_indices=True,
                     aggs={"twice": {"terms": {"field": "process.pid", "min_doc_count": 2, "size": 100}}})
    # Just after an Elasticsearch restart the indices may not be back yet: no shards answer and no
    # aggregation comes back. That reads as "nothing stored yet" and the caller keeps waiting.
    twice = resp.get("aggregations", {}).get("twice", {}).get("buckets", [])
    return resp["hits"]["total"]["value"], len(twice)


def wait_until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


