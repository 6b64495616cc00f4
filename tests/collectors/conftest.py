"""Fast password hashing for these tests (the cast's logins are not what is under test here), and the web app
that the agent tests run against, one per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.collectors.platform import Platform, web_serving


@pytest.fixture(autouse=True)
def fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def web(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from web_serving(tmp_path_factory.mktemp("web"))
