"""Real platform processes for integration, chaos and browser tests.

The web app runs as in production (``python -m soc.serve``, one process so a kill is one kill), Celery worker
and beat as their own programs, all pointed at this test run's database (the pytest-django test database),
indices and Redis keys. Each process can be killed and started again by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


class Platform:
    def __init__(self, tmp: Path, detection_interval: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        # soc.settings, not the inherited tests.settings: the processes keep production's async database threads
        # (tests.settings runs those queries in the test's own thread, for data in the test's transaction).
        self.env = {**os.environ, "SOC_PROFILE": "test", "DJANGO_SETTINGS_MODULE": "soc.settings",
                    "SOC_NAMESPACE": settings.NAMESPACE,
                    "POSTGRES_DB": connection.settings_dict["NAME"],
                    "SOC_DETECTION_INTERVAL_SECONDS": str(detection_interval)}

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.commands[name] = list(args)
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.procs[name] = proc
        return proc

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        return self.spawn(name, *self.commands[name])

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def start_web(self) -> None:
        self.spawn("web", "-m", "soc.serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1")
        wait_http(f"{self.base}/login/")

    def start_worker(self) -> None:
        self.spawn("worker", "-m", "celery", "-A", "soc", "worker", "-Q", "detection,default", "-c", "1",
                   "--without-gossip", "--without-mingle", "-l", "info")

    def start_beat(self) -> None:
        self.spawn("beat", "-m", "celery", "-A", "soc", "beat", "-l", "info",
                   "--schedule", str(self.tmp / "beat-schedule"))

    def start(self) -> None:
        self.start_web()
        self.start_worker()
        self.start_beat()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.tmp.glob("*.log"))


def platform_serving(tmp: Path, *, web_only: bool = False) -> Iterator[Platform]:
    """A fixture's body: the web app (with a Celery worker and beat unless ``web_only``) until the test ends."""
    running = Platform(tmp)
    if web_only:
        running.start_web()
    else:
        running.start()
    try:
        yield running
    finally:
        running.stop()
