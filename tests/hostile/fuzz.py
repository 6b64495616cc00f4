"""How many examples a property test runs: a short run in the suite, tens of thousands at volume.

``SOC_FUZZ_VOLUME=1`` (set by `make chaos`) selects the volume profile; ``SOC_FUZZ_EXAMPLES`` overrides
the count of either. Failing examples are not stored between runs (no hypothesis database), so a run's
figures depend only on its seed.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

VOLUME = os.environ.get("SOC_FUZZ_VOLUME") == "1"
VOLUME_EXAMPLES = 20_000


def examples(short: int, volume: int = VOLUME_EXAMPLES) -> int:
    override = os.environ.get("SOC_FUZZ_EXAMPLES")
    return int(override) if override else (volume if VOLUME else short)


def fuzz_settings(short: int, volume: int = VOLUME_EXAMPLES) -> Any:
    """Hypothesis settings for a fuzz test: no deadline (the test times each message itself), no database."""
    return settings(max_examples=examples(short, volume), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
