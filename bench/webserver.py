"""The web tier as production runs it, for the benchmarks that measure it from outside.

``production_env`` is the production profile (DEBUG off, hashed static files, TOTP required of central roles;
clients send ``X-Forwarded-Proto: https`` as the TLS proxy would) over the bench database and indices.
``WebServer`` starts a checkout's own web command (``python -m soc.serve``, or the plain uvicorn that
``make dev`` ran before it existed), so one benchmark run can measure an older commit's server side by side
with this one (``--baseline DIR``, a ``git worktree`` of that commit).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import ROOT, bench_env, free_port
from bench.procstat import Sample, sample, tree

HEADERS = {"x-forwarded-proto": "https"}  # what the load balancer that ends TLS sets


def production_env(root: Path, static_root: Path, **extra: str) -> dict[str, str]:
    """After ``django_setup``: the server signs sessions with this process's key, so ``signed_in`` cookies hold."""
    from django.conf import settings

    env = {**bench_env(), "SOC_PROFILE": "production", "DJANGO_SECRET_KEY": settings.SECRET_KEY,
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_STATIC_ROOT": str(static_root),
           "SOC_LOG_LEVEL": "WARNING", "PYTHONPATH": str(root), **extra}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=root, env=env,
                   check=True)
    return env


def web_command(root: Path, port: int, workers: int | None) -> list[str]:
    """The checkout's own way of serving HTTP and WebSockets on one port."""
    if (root / "soc" / "serve.py").exists():
        return [sys.executable, "-m", "soc.serve", "--host", "127.0.0.1", "--port", str(port),
                *(["--workers", str(workers)] if workers else [])]
    return [sys.executable, "-m", "uvicorn", "soc.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--workers", str(workers or 1)]


class WebServer:
    def __init__(self, root: Path, env: dict[str, str], log: Path, workers: int | None = None) -> None:
        self.root, self.port = root, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(web_command(root, self.port, workers), cwd=root, env=env,
                                     stdout=log.open("wb"), stderr=subprocess.STDOUT)
        wait_ready(f"{self.base}/login/")

    def cpu(self) -> Sample:
        """User + system CPU seconds of the server and every process it started."""
        return sample(tree(self.proc.pid))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def checkout(path: str | None) -> Path:
    return Path(path).resolve() if path else ROOT



def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=HEADERS, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def signed_in(user: Any) -> str:
    """A session for ``user``, second factor enrolled (production requires it of central roles): its cookie."""
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Preference

    Preference.objects.update_or_create(user=user, defaults={"totp_secret": "JBSWY3DPEHPK3PXP",
                                                             "totp_confirmed_at": timezone.now()})
    client = Client()
    client.force_login(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)
