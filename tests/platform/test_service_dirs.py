"""A checkout where the service user cannot enter (a home directory of mode 0700) still starts its services:
scripts/services.sh keeps what the service user writes (data, config, logs, pid files) outside the checkout.

Run as root, where PostgreSQL and Elasticsearch run as the unprivileged service user; as another user
every service runs as that user and the question does not arise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="services run as a separate user only under root")
SERVICE_USER = os.environ.get("SOC_SERVICE_USER", "socsvc")


def as_service_user(*command: str) -> int:
    return subprocess.run(["runuser", "-u", SERVICE_USER, "--", *command], capture_output=True).returncode


@pytest.fixture
def checkout_in_closed_home(tmp_path: Path) -> Iterator[Path]:
    """The service scripts in <home of mode 0700>/soc-platform, as a clone in root's home would have them."""
    home = tmp_path / "home"
    checkout = home / "soc-platform"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "services.sh", checkout / "scripts" / "services.sh")
    shutil.copy2(ROOT / "versions.env", checkout / "versions.env")
    home.chmod(0o700)
    yield checkout


def services(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(checkout / "scripts" / "services.sh"), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=180)


def test_the_service_users_directory_is_outside_the_checkout_and_its_own(checkout_in_closed_home: Path) -> None:
    answer = services(checkout_in_closed_home, "dirs")
    state = Path(answer.stdout.strip())
    try:
        assert answer.returncode == 0, answer.stderr
        assert as_service_user("test", "-x", str(checkout_in_closed_home)) != 0  # the home is really closed
        assert not state.is_relative_to(checkout_in_closed_home)
        assert as_service_user("test", "-w", str(state)) == 0
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.services
def test_postgresql_starts_from_a_checkout_in_a_closed_home(checkout_in_closed_home: Path) -> None:
    """A private PostgreSQL (initdb and server as the service user); Elasticsearch and Redis are reused."""
    ports = {"PG_PORT": str(free_port()), "ES_PORT": os.environ.get("ES_PORT", "9200"),
             "REDIS_PORT": os.environ.get("REDIS_PORT", "6379")}
    state = Path(services(checkout_in_closed_home, "dirs", **ports).stdout.strip())
    try:
        started = services(checkout_in_closed_home, "start", "dev", **ports)
        assert started.returncode == 0, started.stderr
        assert f"service data and logs: {state}" in started.stderr
        assert f"starting postgresql on 127.0.0.1:{ports['PG_PORT']} (data {state}/pg-data)" in started.stderr
        assert (state / "pg-data" / "PG_VERSION").exists()
    finally:
        stopped = services(checkout_in_closed_home, "stop", **ports)
        shutil.rmtree(state, ignore_errors=True)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped postgresql" in stopped.stderr
