"""Login throttling per account and per client IP: progressive delays, never a permanent lockout.

Each key counts failures (an atomic Redis increment through the cache) and
remembers the last failure; after ``free`` failures the next attempt must wait
``base * 2**(failures - free)`` seconds, capped. Counters are forgotten after a
quiet day. A correct password clears the account's password counter only: wrong
second-factor codes have a counter of their own, cleared only by a correct code,
so signing in again with the password never buys more code guesses.
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
# After five wrong codes the account's second step is shut for 15 minutes after each further wrong code:
# about a hundred guesses a day at a one-in-a-million code, whatever the password step does.
TOTP = Rule("login:totp", free=5, base=900.0, cap=900.0)


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless settings name the header a trusted proxy sets (its last entry is the proxy's view)."""
    header = settings.SOC_TRUSTED_PROXY_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))


def account_hash(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _keys(username: str, ip: str) -> list[tuple[Rule, str]]:
    return [(ACCOUNT, f"{ACCOUNT.prefix}:{account_hash(username)}"), (CLIENT, f"{CLIENT.prefix}:{ip}")]


def _totp_keys(username: str, ip: str) -> list[tuple[Rule, str]]:
    return [(TOTP, f"{TOTP.prefix}:{account_hash(username)}"), (CLIENT, f"{CLIENT.prefix}:{ip}")]


def _wait(keys: list[tuple[Rule, str]]) -> int:
    now, wait = time.time(), 0.0
    for rule, key in keys:
        failures, last = cache.get(f"{key}:n", 0), cache.get(f"{key}:t", 0.0)
        wait = max(wait, last + rule.delay(failures) - now)
    return max(0, int(wait + 0.999))


def _fail(keys: list[tuple[Rule, str]]) -> None:
    now = time.time()
    for _rule, key in keys:
        cache.add(f"{key}:n", 0, QUIET_RESET_SECONDS)
        cache.incr(f"{key}:n")
        cache.touch(f"{key}:n", QUIET_RESET_SECONDS)
        cache.set(f"{key}:t", now, QUIET_RESET_SECONDS)


def _clear(key: str) -> None:
    cache.delete_many([f"{key}:n", f"{key}:t"])


def wait_seconds(*, username: str, ip: str) -> int:
    """How long this password attempt must wait; 0 when it may go ahead."""
    return _wait(_keys(username, ip))


def record_failure(*, username: str, ip: str) -> None:
    _fail(_keys(username, ip))


def record_success(*, username: str, ip: str) -> None:
    """A correct password: clears the password counter, never the second factor's."""
    _clear(_keys(username, ip)[0][1])


def totp_wait_seconds(*, username: str, ip: str) -> int:
    """How long this account's second step is shut; 0 when a code may be tried."""
    return _wait(_totp_keys(username, ip))


def totp_record_failure(*, username: str, ip: str) -> None:
    _fail(_totp_keys(username, ip))


def totp_record_success(*, username: str, ip: str) -> None:
    _clear(_totp_keys(username, ip)[0][1])
