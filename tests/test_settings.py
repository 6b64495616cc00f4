"""The production profile is the default: without a profile, settings refuse to start until the secrets are given,
and then run with DEBUG off. Only make dev / make test (and pytest) choose another profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SHOW = "import django; django.setup(); from django.conf import settings as s; print(s.PROFILE, s.DEBUG)"
PROFILE_VARS = ("SOC_PROFILE", "DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE", "DJANGO_ALLOWED_HOSTS",
                "DJANGO_ALLOWED_HOSTS_FILE", "DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE")


def start_django(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**clean, "DJANGO_SETTINGS_MODULE": "soc.settings", **env}, check=False)


def test_without_a_profile_it_refuses_to_start_without_a_secret_key() -> None:
    started = start_django(DJANGO_ALLOWED_HOSTS="soc.example")
    assert started.returncode != 0 and "DJANGO_SECRET_KEY" in started.stderr


def test_without_a_profile_it_refuses_to_start_without_allowed_hosts() -> None:
    started = start_django(DJANGO_SECRET_KEY="k" * 60)
    assert started.returncode != 0 and "DJANGO_ALLOWED_HOSTS" in started.stderr


def test_without_a_profile_it_runs_as_production_with_debug_off() -> None:
    started = start_django(DJANGO_SECRET_KEY="k" * 60, DJANGO_ALLOWED_HOSTS="soc.example")
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["production", "False"]


def test_the_dev_profile_is_only_taken_when_asked_for() -> None:
    assert start_django(SOC_PROFILE="dev").stdout.split() == ["dev", "True"]


def test_the_image_runs_the_production_profile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    env_lines = [line for line in dockerfile.splitlines() if line.startswith("ENV ")]
    assert any("SOC_PROFILE=production" in line for line in env_lines), env_lines
    assert "SOC_PROFILE: production" in (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


def test_pytest_runs_the_test_profile_when_none_is_given() -> None:
    assert os.environ.get("SOC_PROFILE", "test") == settings.PROFILE
    clean = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/test_settings.py"],
                               cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False)
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]


# The uvicorn worker imports the Elasticsearch client before Django configures logging: that order.
CLIENT_TRACE = ("import logging, elastic_transport, django; django.setup(); "
                "print(logging.getLogger('elastic_transport.node').hasHandlers())")


def test_the_elasticsearch_client_does_not_format_a_trace_of_every_request() -> None:
    """With a handler in reach the client decodes every request's body and answer into a debug message (dropped
    at our level): megabytes a bulk."""
    clean = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    started = subprocess.run([sys.executable, "-c", CLIENT_TRACE], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=False,
                             env={**clean, "DJANGO_SETTINGS_MODULE": "soc.settings", "SOC_PROFILE": "test"})
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["False"]
