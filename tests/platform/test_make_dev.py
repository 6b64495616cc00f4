"""`make dev` (scripts/dev.sh) as a new user runs it: the demo plays out (today's readiness shows CTO's clock
running ahead and HNI late to acknowledge), the platform stays up after the replay ends, and a core process
that dies is named and brings the rest down.

dev.sh runs for real on the services this test run uses, kept apart by its own namespace (indices, Redis
keys), its own database, web port, run directory (so its `services.sh stop` stops nothing it did not
start) and demo directory; the demo is shortened (2 days of history, a short live replay).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from soc import es as soc_es
from tests.processes import ROOT, free_port

pytestmark = pytest.mark.services

STAYS_UP_SECONDS = 20  # after the replay has ended


class DevRun:
    def __init__(self, tmp: Path) -> None:
        self.namespace = f"{settings.NAMESPACE}dev"
        self.database = f"{settings.NAMESPACE}_dev"
        self.port = free_port()
        self.out = tmp / "dev.out"
        self.env = {**os.environ, "SOC_NAMESPACE": self.namespace, "POSTGRES_DB": self.database,
                    "SOC_PORT": str(self.port), "SOC_RUN_DIR": str(tmp / "run"), "SOC_DEV_DIR": str(tmp / "dev"),
                    "SOC_STATE_DIR": str(tmp / "state"), "SOC_DEMO_DAYS": "2", "SOC_DEMO_RATE": "20",
                    "SOC_DEMO_LINES": "40", "SOC_PROFILE": "production"}  # dev.sh must set its own profile
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen(["scripts/dev.sh"], cwd=ROOT, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            assert self.alive(), f"dev.sh ended before printing {pattern!r}:\n{self.output()[-4000:]}"
            time.sleep(1)
        raise AssertionError(f"no {pattern!r} from dev.sh within {timeout}s:\n{self.output()[-4000:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthz(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as answer:
            return int(answer.status)

    def child_pid(self, command_part: str) -> int:
        assert self.proc is not None
        listing = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(self.proc.pid)], capture_output=True,
                                 text=True, check=True).stdout
        return next(int(line.split()[0]) for line in listing.splitlines() if command_part in line)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # anything left in its group (a child that ignored TERM)
            os.killpg(self.proc.pid, signal.SIGKILL)

    def todays_actions(self) -> dict[str, list[str]]:
        """Province code -> the texts of the actions on its latest scorecard (today's), from dev.sh's database."""
        params = connection.settings_dict
        with psycopg.connect(host=params["HOST"], port=params["PORT"], user=params["USER"],
                             password=params["PASSWORD"], dbname=self.database) as pg:
            rows = pg.execute("SELECT o.code, s.actions FROM readiness_readinesssnapshot s "
                              "JOIN organisations_organisation o ON o.id = s.province_id "
                              "WHERE s.day = (SELECT max(day) FROM readiness_readinesssnapshot)").fetchall()
        return {code: [action["text"] for action in actions] for code, actions in rows}

    def drop_data(self) -> None:
        params = connection.settings_dict
        with psycopg.connect(host=params["HOST"], port=params["PORT"], user=params["USER"],
                             password=params["PASSWORD"], dbname="postgres", autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        es = soc_es.client()
        es.indices.delete(index=f"{self.namespace}-*", ignore_unavailable=True, allow_no_indices=True,
                          expand_wildcards="all")
        found = es.options(ignore_status=404).indices.get_index_template(name=f"{self.namespace}-*")
        for template in found.get("index_templates", []):
            es.indices.delete_index_template(name=template["name"])
        keys = redis.Redis.from_url(settings.REDIS_URL)
        for key in keys.scan_iter(f"{self.namespace}:*", count=1000):
            keys.delete(key)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevRun]:
    run = DevRun(tmp_path)
    run.drop_data()
    try:
        yield run
    finally:
        run.stop()
        run.drop_data()


@pytest.mark.timeout(480)
def test_make_dev_serves_after_the_demo_replay_and_stops_when_a_core_process_dies(dev: DevRun) -> None:
    dev.start()

    dev.wait_for(r"\[dev\] replay finished \(status 0\)", timeout=240)
    time.sleep(STAYS_UP_SECONDS)
    assert dev.alive(), dev.output()[-4000:]
    assert dev.healthz() == 200
    assert "stopping" not in dev.output()

    dev.wait_for(r"request for action on HCM-\d{4}-\d{4} sent to HCM and done", timeout=120)
    assert dev.healthz() == 200
    # HNI's incidents are acknowledged a minute after they open (its one-minute target then passed).
    dev.wait_for(r"today's readiness computed for \d+ provinces", timeout=150)
    actions = dev.todays_actions()
    assert any(re.fullmatch(r"\d+% of events are dated in the future: synchronise the clocks \(NTP\)", text)
               for text in actions["CTO"]), actions["CTO"]
    assert any(re.fullmatch(r"\d+ events rejected to the dead-letter index: .*", text) for text in actions["CTO"])
    assert any(re.fullmatch(r"\d+% of incidents missed their SLA in the last 30 days", text)
               for text in actions["HNI"]), actions["HNI"]
    assert not any("missed their SLA" in text or "dated in the future" in text for text in actions["HCM"])

    os.kill(dev.child_pid("celery -A soc beat"), signal.SIGKILL)
    dev.wait_for(r"core process 'beat' exited", timeout=30)
    assert dev.proc is not None
    assert dev.proc.wait(timeout=60) != 0
