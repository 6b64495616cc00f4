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
import random
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from collectors.agent import __version__

STORED = frozenset({"created", "duplicate", "rejected"})


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

    def post(self, path: str, payload: Any, *, compress: bool = False) -> Any:
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": f"soc-agent/{__version__}"}
        if compress:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        request = urllib.request.Request(self.base + path, data=body, method="POST", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as resp:  # noqa: S310
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raise TransportError(_describe(exc), status=exc.code, retry_after=_retry_after(exc)) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    def send_events(self, events: list[dict[str, Any]]) -> dict[str, str]:
        """Per-event answers by id. Raises TransportError when the request got none."""
        answer = self.post("/ingest/events", {"events": events}, compress=True)
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
