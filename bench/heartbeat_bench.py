"""Web CPU per collector heartbeat: 680 collectors (34 provinces x 20) each posting the agent's report every
``--period`` seconds to the web tier as production runs it (``bench/webserver.py``: production profile, the
checkout's own web command, 2 workers), each over its own kept connection.

680 agents at their default 5 s send 136 heartbeats a second whatever the event rate: a fixed cost of the ingest
tier (docs/scaling.md, F2). CPU per heartbeat = user + system seconds of the server's process tree (from /proc)
over the measured rounds, divided by the heartbeats answered; PostgreSQL's CPU over the same rounds beside it.
The first round of each server is not measured (credentials cached, connections open).

``--baseline DIR`` measures another checkout's server in the same run, rounds alternating:

    git worktree add /tmp/base <commit> && ln -s $PWD/.venv /tmp/base/.venv
    .venv/bin/python bench/heartbeat_bench.py --baseline /tmp/base
    .venv/bin/python bench/heartbeat_bench.py --short      # 8 s a round, one round
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load_bench
from bench.common import cli, report
from bench.harness import django_setup
from bench.procstat import listening_pid, sample, tree
from bench.webserver import HEADERS, WebServer, checkout, production_env

WORKERS = 2


def options() -> tuple[float, float, int, Path | None]:
    parser = cli(__doc__, short="8 s rounds, one round")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between a collector's heartbeats")
    parser.add_argument("--seconds", type=float, default=0, help="seconds a measured round (default 20; short 8)")
    parser.add_argument("--rounds", type=int, default=0, help="measured rounds per server (default 2; short 1)")
    parser.add_argument("--baseline", help="another checkout (a git worktree) to serve and measure the same way")
    args = parser.parse_args()
    seconds = args.seconds or (8 if args.short else 20)
    rounds = args.rounds or (1 if args.short else 2)
    return args.period, seconds, rounds, checkout(args.baseline) if args.baseline else None


async def beating(base: str, sims: list[load_bench.Sim], seconds: float, measure: Callable[[], None],
                  ) -> tuple[load_bench.Tally, float]:
    """One unmeasured beat of each collector, then ``seconds`` of beats; ``measure`` is called between."""
    connector = aiohttp.TCPConnector(limit=len(sims), limit_per_host=0)
    async with aiohttp.ClientSession(base_url=base, connector=connector, headers=HEADERS,
                                     timeout=aiohttp.ClientTimeout(total=60)) as client:
        warm = load_bench.Tally()
        await asyncio.gather(*(load_bench.heartbeats(client, sim, time.time(), warm) for sim in sims))
        measure()
        tally, started = load_bench.Tally(), time.monotonic()
        stop_at = time.time() + seconds
        await asyncio.gather(*(load_bench.heartbeats(client, sim, stop_at, tally) for sim in sims))
        return tally, time.monotonic() - started


def measured_round(name: str, server: WebServer, sims: list[load_bench.Sim], seconds: float) -> None:
    from django.conf import settings

    pg = listening_pid(int(str(settings.DATABASES["default"]["PORT"] or 5432)))
    start: dict[str, float] = {}

    def measure() -> None:
        start["web"], start["pg"] = server.cpu().cpu_seconds, sample(tree(pg) if pg else []).cpu_seconds

    tally, wall = asyncio.run(beating(server.base, sims, seconds, measure))
    web = server.cpu().cpu_seconds - start["web"]
    pg_cpu = sample(tree(pg) if pg else []).cpu_seconds - start["pg"]  # the server and its backends
    answered = tally.counts["heartbeat_ok"]
    report(f"heartbeats ({name}): {len(sims)} collectors, web tier as production runs it", {
        "heartbeats_per_s": round(answered / wall), "failed": tally.counts["heartbeat_failed"],
        "web_workers": WORKERS, "web_cpu_pct": round(100 * web / wall),
        "web_cpu_us_per_heartbeat": round(1e6 * web / max(answered, 1)),
        "pg_cpu_us_per_heartbeat": round(1e6 * pg_cpu / max(answered, 1)), "seconds": round(wall, 1),
    }, target="lower is better: 680 agents send 136 a second at their default period")


def main() -> None:
    period, seconds, rounds, baseline = options()
    load_bench.HEARTBEAT = period
    django_setup()
    sims = load_bench.make_collectors(f"hb{int(time.time())}")
    roots = {"this": checkout(None), **({"baseline": baseline} if baseline else {})}
    with tempfile.TemporaryDirectory() as tmp:
        envs = {name: production_env(root, Path(tmp) / f"static-{name}") for name, root in roots.items()}
        for _ in range(rounds):
            for name, root in roots.items():
                server = WebServer(root, envs[name], Path(tmp) / f"{name}.log", workers=WORKERS)
                try:
                    measured_round(name, server, sims, seconds)
                finally:
                    server.stop()


if __name__ == "__main__":
    main()
