"""What the agent has done so far: one set of counters every part writes, the status file reads."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("soc-agent")


class Counters:
    def __init__(self) -> None:
        self.read = self.sent = self.created = self.duplicate = self.rejected = self.retried = 0
        self.transport_errors = self.gaps = 0
        self.renamed = 0  # different records that shared an id in one batch: sent under an id of their own
        self.last_error = ""
        self.lock = threading.Lock()  # the sender threads count concurrently

    def error(self, message: str) -> None:
        """Logged now, and shown by the next heartbeat and status file."""
        self.last_error = message[:500]
        log.warning("%s", message)
