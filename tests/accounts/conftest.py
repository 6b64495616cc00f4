from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings


@pytest.fixture(autouse=True)
def forget_login_failures() -> Iterator[None]:
    """Throttle counters live in Redis under this run's namespace only; clear just those."""
    client = redis.Redis.from_url(settings.REDIS_URL)

    def clear() -> None:
        for key in client.scan_iter(f"{settings.NAMESPACE}:*:login:*"):
            client.delete(key)

    clear()
    yield
    clear()
