"""Login throttling per account and per client IP: progressive delays, never a permanent lockout.

Each key counts failures (an atomic Redis increment through the cache) and
remembers the last failure; after ``free`` failures the next attempt must wait
``base * 2**(failures - free)`` seconds, capped. Counters are forgotten after a
quiet day, and a successful login clears the account's counter.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

QUIET_RESET_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Rule:
    prefix: str
    free: int
    base: float = 1.0
    cap: float = 900.0

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** (failures - self.free)))


ACCOUNT = Rule("login:acct", free=5)
CLIENT = Rule("login:ip", free=20)


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless settings name the header a trusted proxy sets (its last entry is the proxy's view)."""
    header = settings.SOC_TRUSTED_PROXY_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))


def _keys(username: str, ip: str) -> list[tuple[Rule, str]]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [(ACCOUNT, f"{ACCOUNT.prefix}:{account}"), (CLIENT, f"{CLIENT.prefix}:{ip}")]


def wait_seconds(*, username: str, ip: str) -> int:
    """How long this attempt must wait; 0 when it may go ahead."""
    now, wait = time.time(), 0.0
    for rule, key in _keys(username, ip):
        failures, last = cache.get(f"{key}:n", 0), cache.get(f"{key}:t", 0.0)
        wait = max(wait, last + rule.delay(failures) - now)
    return max(0, int(wait + 0.999))


def record_failure(*, username: str, ip: str) -> None:
    now = time.time()
    for _rule, key in _keys(username, ip):
        cache.add(f"{key}:n", 0, QUIET_RESET_SECONDS)
        cache.incr(f"{key}:n")
        cache.touch(f"{key}:n", QUIET_RESET_SECONDS)
        cache.set(f"{key}:t", now, QUIET_RESET_SECONDS)


def record_success(*, username: str, ip: str) -> None:
    _rule, account_key = _keys(username, ip)[0]
    cache.delete_many([f"{account_key}:n", f"{account_key}:t"])
