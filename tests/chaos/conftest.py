from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import Platform


@pytest.fixture
def platform(transactional_db: None, es: Any, tmp_path: Path) -> Iterator[Platform]:
    running = Platform(tmp_path)
    running.start()
    yield running
    running.stop()


