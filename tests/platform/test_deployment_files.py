"""docker-compose.yml, versions.env and the scripts agree (compose cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def versions() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / "versions.env").read_text().splitlines()
             if line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_elasticsearch_is_pinned_once_to_an_819_release() -> None:
    assert re.fullmatch(r"8\.19\.\d+", versions()["ES_VERSION"])
    assert "ES_VERSION" in (ROOT / "scripts" / "services.sh").read_text()


def test_compose_is_valid_and_has_the_production_services() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert {"elasticsearch", "redis", "postgres", "web", "worker", "beat", "collector"} <= set(services)
    assert services["elasticsearch"]["image"].startswith("elasticsearch:${ES_VERSION")
    for name in ("elasticsearch", "redis", "postgres", "web", "worker"):
        assert "healthcheck" in services[name], name


def test_no_secret_is_committed_in_compose() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "DJANGO_SECRET_KEY: ${DJANGO_SECRET_KEY:?" in text
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in text
    assert (ROOT / ".env.example").exists() and ".env" in (ROOT / ".gitignore").read_text().split()
