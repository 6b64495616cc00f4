"""Settings for tools that load Django in this process to test or check it: pytest (pyproject's
DJANGO_SETTINGS_MODULE) and mypy's Django plugin.

Without a profile the settings are production's (soc/settings.py fails closed), which refuse to load without
secrets; these tools take the test profile instead unless the caller chose one (scripts/test.sh does). The
environment variable is set, not only read, so processes the tests start inherit it.
"""

from __future__ import annotations

import os

os.environ.setdefault("SOC_PROFILE", "test")

from soc.settings import *  # noqa: F403

# Async views' queries in the test's own thread and connection, where its data is (soc.aio.database).
ASYNC_DB_THREADS = 0
