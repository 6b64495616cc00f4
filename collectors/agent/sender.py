"""Talking to the central side: ingest batches, heartbeats, enrollment.

A batch leaves the spool only when every event of it is answered
``created``, ``duplicate`` or ``rejected`` (kept centrally in the dead-letter
index). ``retry`` answers and transport errors are resent with exponential
backoff and full jitter, forever: 680 agents coming back after an outage
must not retry in step.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from collectors.agent import __version__, jsonfast

STORED = frozenset({"created", "duplicate", "rejected"})
CLOCK_HEADER = "X-SOC-Clock-Offset"
# Tests simulate a host whose clock is wrong by this many seconds (tests/chaos/test_clock_skew.py).
_TEST_CLOCK_SKEW = float(os.environ.get("SOC_AGENT_TEST_CLOCK_SKEW", "0") or 0)
_MAX_CLOCK_RTT = 10.0  # a slower answer measures the offset too loosely (error up to half the round trip)


def agent_clock() -> float:
    """This host's clock (UNIX seconds), which may be wrong: the central side's is the reference."""
    return time.time() + _TEST_CLOCK_SKEW


class TransportError(Exception):
    """The request did not get per-event answers; ``retry_after`` is the server's hint, if any."""

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


class Backoff:
    def __init__(self, base: float = 0.5, cap: float = 60.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next_delay(self, hint: float | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** self.attempt)
        self.attempt += 1
        delay = random.uniform(ceiling / 2, ceiling)  # jitter, never less than half the step
        return max(delay, min(hint or 0.0, self.cap * 5))

    def reset(self) -> None:
        self.attempt = 0


class RateLimiter:
    """Token bucket in events per second (0: unlimited); ``wait`` sleeps until ``count`` may go."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()  # shared by the sender threads

    def wait(self, count: int, sleep: Callable[[float], Any] = time.sleep) -> None:
        if self.rate <= 0:
            return
        with self.lock:
            now = time.monotonic()
            self.tokens = min(max(self.rate, count), self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= count
            debt = -self.tokens
        if debt > 0:
            sleep(debt / self.rate)


class Client:
    def __init__(self, base_url: str, secret: str = "", *, timeout: float = 30.0, ca_file: str = "") -> None:
        self.base = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file or None) if self.base.startswith("https") else None
        # Central time minus ours, from the last answer that carried ``server_time`` (NTP-style midpoint);
        # sent with every request so the ingest can put events at the right UTC time.
        self.clock_offset: float | None = None

    def post(self, path: str, payload: Any, *, compress: bool = False) -> Any:
        return self.post_json(path, jsonfast.dumps(payload), compress=compress)

    def post_json(self, path: str, body: bytes, *, compress: bool = False) -> Any:
        """POST a body that is JSON already (the spool's bytes: no decode and encode per event)."""
        headers = {"Content-Type": "application/json", "User-Agent": f"soc-agent/{__version__}"}
        if compress:
            # Level 1: a third of the CPU of level 5 for a body only ~15% larger (log lines compress well).
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        if self.clock_offset is not None:
            headers[CLOCK_HEADER] = f"{self.clock_offset:.3f}"
        request = urllib.request.Request(self.base + path, data=body, method="POST", headers=headers)  # noqa: S310
        try:
            sent_at = agent_clock()
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as resp:  # noqa: S310
                answer = jsonfast.loads(resp.read())
            self._measure_clock(answer, sent_at, agent_clock())
            return answer
        except urllib.error.HTTPError as exc:
            raise TransportError(_describe(exc), status=exc.code, retry_after=_retry_after(exc)) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    def _measure_clock(self, answer: Any, sent_at: float, received_at: float) -> None:
        central = answer.get("server_time") if isinstance(answer, dict) else None
        if isinstance(central, int | float) and not isinstance(central, bool) and \
                received_at - sent_at <= _MAX_CLOCK_RTT:
            self.clock_offset = round(float(central) - (sent_at + received_at) / 2, 3)

    def send_events(self, events: list[dict[str, Any]] | list[bytes]) -> dict[str, str]:
        """Per-event answers by id; events as dicts or as their JSON. Raises TransportError when none came."""
        encoded = [e if isinstance(e, bytes) else jsonfast.dumps(e) for e in events]
        answer = self.post_json("/ingest/events", b'{"events":[' + b",".join(encoded) + b"]}", compress=True)
        try:
            return {r["id"]: r["status"] for r in answer["results"]}
        except (KeyError, TypeError) as exc:
            raise TransportError("ingest answer without per-event results") from exc


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    try:
        return float(exc.headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None


def _describe(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read(4096))["error"]
        return f"HTTP {exc.code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {exc.code}"
