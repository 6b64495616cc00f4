"""Heartbeats: the agent's stats to the central side and to the local status file, its configuration back.

The first answered (or failed) heartbeat sets ``clock_checked``: the host's clock offset is known then, and
the senders wait for it (bounded) so their first batches carry it. ``central`` says how the last heartbeat
went; the status file written at exit keeps it, so ``soc-agent status`` can say why the central side was
unreachable.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collectors.agent.counters import Counters
from collectors.agent.parsers.base import isoformat_utc
from collectors.agent.sender import Client, TransportError
from collectors.agent.spool import Spool


class Heartbeat:
    def __init__(self, *, client: Client, spool: Spool, counters: Counters, state: Path,
                 stats: Callable[[], dict[str, Any]], apply_config: Callable[[Any], None]) -> None:
        self.client, self.spool, self.counters, self.state = client, spool, counters, state
        self.stats, self.apply_config = stats, apply_config
        self.central: dict[str, Any] = {"ok": False, "error": "no heartbeat answered yet"}
        self.clock_checked = threading.Event()

    def once(self) -> None:
        for message in self.spool.errors[:]:
            self.counters.error(message)
        self.spool.errors.clear()
        stats = self.stats()
        self.counters.last_error = ""  # each report carries the errors since the previous one
        try:
            answer = self.client.post("/collectors/heartbeat", stats)
            self.central = {"ok": True, "at": isoformat_utc(datetime.now(UTC))}
            self.apply_config(answer.get("config") if isinstance(answer, dict) else None)
        except TransportError as exc:
            # Kept for the status file, also the one written at exit: "UNREACHABLE" always says why.
            self.central = {"ok": False, "error": str(exc)[:500], "at": isoformat_utc(datetime.now(UTC))}
        stats["central"] = self.central
        self.clock_checked.set()
        self.write_status(stats)

    def write_status(self, stats: dict[str, Any]) -> None:
        """status.json, replaced whole (``soc-agent status`` never reads half a file)."""
        stats["written_at"] = time.time()
        stats["pid"] = os.getpid()
        tmp = self.state / "status.tmp"
        tmp.write_text(json.dumps(stats, indent=2))
        os.replace(tmp, self.state / "status.json")


class Rate:
    """Events sent per second, over windows of at least a second (one heartbeat's worth, usually)."""

    def __init__(self) -> None:
        self.window: tuple[float, int] = (time.monotonic(), 0)
        self.per_second = 0.0

    def update(self, sent: int) -> float:
        now = time.monotonic()
        start, before = self.window
        if now - start >= 1.0:
            self.per_second = round((sent - before) / (now - start), 1)
            self.window = (now, sent)
        return self.per_second
