from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import Platform, platform_serving


@pytest.fixture
def web(transactional_db: None, es: Any, tmp_path: Path) -> Iterator[Platform]:
    """The web app alone (the chaos tests bring their own agents and proxies)."""
    yield from platform_serving(tmp_path, web_only=True)


