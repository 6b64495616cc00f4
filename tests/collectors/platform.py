"""Real processes for end-to-end collector tests: the web app (``python -m soc.serve``), and agents.

Same approach as tests/e2e/test_thin_slice.py (whose Platform this follows):
nothing runs in-process; the agent is its own program talking HTTP to a
real uvicorn serving the test database, and events land in the real
Elasticsearch under this run's namespace.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from elasticsearch import Elasticsearch

from tests.processes import ROOT, free_port, wait_http
from tests.searchable import searchable_count


class Platform:
    """The web app on a free port; ``stop``/``start`` simulate the central side going away."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.base}/api/v1"
        self.tmp = tmp
        self.web: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "SOC_PROFILE": "test", "SOC_NAMESPACE": settings.NAMESPACE,
                    "POSTGRES_DB": connection.settings_dict["NAME"], "SOC_INGEST_RATE_PER_COLLECTOR": "0",
                    "SOC_INGEST_RATE_PER_PROVINCE": "0", "SOC_LOG_LEVEL": "WARNING", **env}

    def start(self) -> None:
        log = (self.tmp / "web.log").open("ab")
        self.web = subprocess.Popen(
            [sys.executable, "-m", "soc.serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            cwd=ROOT, env=self.env, stdout=log, stderr=log)
        wait_http(f"{self.base}/login/")

    def stop(self) -> None:
        if self.web is not None:
            self.web.terminate()
            try:
                self.web.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.web.kill()
            self.web = None



def web_serving(tmp: Path) -> Iterator[Platform]:
    """A fixture's body: the web app until the tests that asked for it end."""
    platform = Platform(tmp)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


class Agent:
    """One collector agent process over a state directory that survives its restarts."""

    def __init__(self, platform: Platform, tmp: Path, secret: str, *args: str, name: str = "agent") -> None:
        self.platform, self.tmp, self.name = platform, tmp, name
        self.state = tmp / f"{name}-state"
        self.secret_file = tmp / f"{name}.secret"
        self.secret_file.write_text(secret)
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tmp / f"{name}.log"

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "collectors.agent", "run", "--url", self.platform.api, "--secret-file",
                str(self.secret_file), "--state-dir", str(self.state), "--poll", "0.1", "--heartbeat", "0.5",
                *self.args, *extra]

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(*extra), cwd=ROOT, env=self.platform.env, stdout=log,
                                         stderr=log)
        return self.proc

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def status(self) -> dict[str, Any]:
        path = self.state / "status.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def events_index() -> str:
    return f"{settings.ES_INDEX_PREFIX}events-*"


def count(es: Elasticsearch, query: dict[str, Any] | None = None) -> int:
    return searchable_count(es, events_index(), query)


def wait_count(es: Elasticsearch, expected: int, timeout: float, why: str = "") -> int:
    deadline = time.monotonic() + timeout
    got = count(es)
    while got < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        got = count(es)
    assert got >= expected, f"{got} of {expected} events in Elasticsearch after {timeout}s. {why}"
    return got


def all_hits(es: Elasticsearch, fields: list[str]) -> Iterator[dict[str, Any]]:
    """Every event (id and the given source fields), paged with a point in time."""
    es.indices.refresh(index=events_index(), allow_no_indices=True, ignore_unavailable=True)
    pit = es.open_point_in_time(index=events_index(), keep_alive="1m")["id"]
    after: list[Any] | None = None
    try:
        while True:
            extra: dict[str, Any] = {"search_after": after} if after else {}
            page = es.search(pit={"id": pit, "keep_alive": "1m"}, size=5000, sort=["_shard_doc"],
                             source_includes=fields, **extra)["hits"]["hits"]
            if not page:
                return
            yield from page
            after = page[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit)
