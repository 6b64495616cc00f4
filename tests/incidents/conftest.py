"""Helpers for incident tests: an API client per cast member and a way to make many incidents fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import Incident
from incidents.services.intake import incident_create
from organisations.models import Organisation
from tests.conftest import Cast


class Api:
    """A logged-in test client speaking JSON."""

    def __init__(self, user: User) -> None:
        self.client = Client(REMOTE_ADDR="203.0.113.9")
        self.client.force_login(user)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def post(self, path: str, data: Any = None) -> Any:
        return self.client.post(path, data or {}, content_type="application/json")

    def patch(self, path: str, data: Any) -> Any:
        return self.client.patch(path, data, content_type="application/json")


@pytest.fixture
def api() -> Callable[[User], Api]:
    return Api


@pytest.fixture
def make_incidents(cast: Cast) -> Callable[..., list[Incident]]:
    def make(n: int, province: Organisation | None = None, **fields: Any) -> list[Incident]:
        return [incident_create(province=province or cast.hni, title=f"incident {i}", **fields) for i in range(n)]
    return make


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)
