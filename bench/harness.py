"""Benchmarks run the real platform on its own database, indices and Redis keys.

``django_setup()`` points Django at the ``soc_bench`` database (created and
migrated on first use) and the ``bench-`` namespace, so a benchmark never
touches dev or test data; ``Processes`` starts uvicorn / Celery like production.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bench"
DATABASE = "soc_bench"


def bench_env() -> dict[str, str]:
    return {**os.environ, "SOC_PROFILE": "test", "SOC_NAMESPACE": NAMESPACE, "POSTGRES_DB": DATABASE,
            "DJANGO_SETTINGS_MODULE": "soc.settings"}


def django_setup() -> None:
    os.environ.update(bench_env())
    sys.path.insert(0, str(ROOT))
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", os.environ.get("POSTGRES_USER", "soc"), DATABASE],
                   capture_output=True, check=False)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from soc.es import ensure_templates

    ensure_templates()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []
        logdir.mkdir(parents=True, exist_ok=True)

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logdir / f"{name}.log").open("wb")
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env or bench_env(), stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def web(self, port: int, workers: int = 1) -> None:
        self.spawn("web", "-m", "soc.serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers))
        wait_http(f"http://127.0.0.1:{port}/login/")

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")
