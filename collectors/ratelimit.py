"""Ingest rate limits: one token bucket per collector and one per province, in Redis.

Both buckets are checked and charged in one Lua script, so a batch is either
admitted by both or by neither, and concurrent web workers share the counts.
Tokens are events; a bucket holds ``INGEST_RATE_BURST_SECONDS`` of its rate.
The check is awaited (``redis.asyncio``, one client per event loop): the ingest view waits for Redis without
holding up the other requests of its worker.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from collectors.models import Collector
from soc.aio import loop_client

# KEYS: buckets. ARGV: now (ms), cost, then rate and capacity per bucket.
# Returns 0 when admitted, else the milliseconds until the cost would fit.
_SCRIPT = """
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens, wait = {}, 0
for i, key in ipairs(KEYS) do
  local rate, cap = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', key, 't', 'at')
  local t, at = tonumber(state[1]) or cap, tonumber(state[2]) or now
  t = math.min(cap, t + (now - at) * rate / 1000)
  tokens[i] = t
  local need = math.min(cost, cap)
  if t < need then wait = math.max(wait, math.ceil((need - t) * 1000 / rate)) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local rate, cap = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('HSET', key, 't', tokens[i] - math.min(cost, cap), 'at', now)
  redis.call('PEXPIRE', key, math.ceil(cap * 1000 / rate) + 1000)
end
return 0
"""


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    retry_after: int = 0  # whole seconds, for the Retry-After header


def _script() -> AsyncScript:
    return loop_client("ingest-rate", lambda: Redis.from_url(settings.REDIS_URL).register_script(_SCRIPT),
                       lambda script: script.registered_client.aclose())


async def ingest_admit(*, collector: Collector, events: int) -> Verdict:
    """Charge ``events`` to the collector's and its province's buckets, or say how long to wait."""
    province = collector.organisation.province or collector.organisation
    buckets = [(f"collector:{collector.uid}", settings.INGEST_RATE_PER_COLLECTOR),
               (f"province:{province.code}", settings.INGEST_RATE_PER_PROVINCE)]
    buckets = [(key, rate) for key, rate in buckets if rate > 0]
    if not buckets or events <= 0:
        return Verdict(True)
    keys = [f"{settings.NAMESPACE}:ingest-rate:{key}" for key, _ in buckets]
    args: list[int] = [int(time.time() * 1000), events]
    for _, rate in buckets:
        args += [rate, rate * settings.INGEST_RATE_BURST_SECONDS]
    wait_ms = int(await _script()(keys=keys, args=args))
    return Verdict(True) if wait_ms == 0 else Verdict(False, max(1, math.ceil(wait_ms / 1000)))
