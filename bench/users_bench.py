"""Console and API under 50 and 200 concurrent users: p95 per page as the users see it.

An asyncio/aiohttp load generator (not locust: one process, no gevent, and a third of the CPU of the
same load on this 2-core box, where the generator shares the cores with the server). Each virtual
user holds its own signed-in session (central analysts and provincial responders of every province)
and loops: a page chosen from the mix below, then 1-3 s of think time. The server is the web tier as
production runs it (``python -m soc.serve``, production profile: bench/webserver.py) with
``SOC_USERS_WEB_WORKERS`` processes, over the console benchmark's data (incidents in the bench database,
events under the ``bench-console-`` prefix, seeded if missing). Times are client-side: queueing included.

Then a closed loop: 1 and 32 clients, each asking the triage queue and the API list alternately with no
think time, for throughput (requests/s) and its ratio (target: 32 clients >= 1.6 x one client). While
it runs, PostgreSQL's connections from the bench database are counted (pg_stat_activity, every 0.5 s):
the pool keeps them bounded whatever the load.

    .venv/bin/python bench/users_bench.py            # 60 s per level, 30 s per closed-loop level
    .venv/bin/python bench/users_bench.py --short    # 20 s and 10 s (also SOC_BENCH_SHORT=1)
    .venv/bin/python bench/users_bench.py --baseline /tmp/base   # also serve another checkout, same run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import procstat
from bench.common import p, report
from bench.console_bench import PASSWORD, seed_events, seed_incidents
from bench.harness import DATABASE, ROOT, django_setup
from bench.webserver import HEADERS, WebServer, production_env, signed_in

LEVELS = (50, 200)
CLOSED_LOOP = (1, 32)
WEB_WORKERS = int(os.environ.get("SOC_USERS_WEB_WORKERS", "2"))
INCIDENTS = int(os.environ.get("SOC_USERS_INCIDENTS", "100000"))
EVENTS = int(os.environ.get("SOC_USERS_EVENTS", "300000"))
THINK = (1.0, 3.0)
# page -> (path template, weight): triage is what responders live on; search is the analysts' tool.
PAGES = {
    "triage_queue": ("/incidents/", 4),
    "incident_page": ("/incidents/{key}/", 3),
    "dashboard": ("/console/dashboard/", 2),
    "event_search": ("/console/events/?range=24h&q=event.outcome:failure", 1),
    "api_incident_list": ("/api/v1/incidents/", 2),
}


@dataclass
class Account:
    session: str
    incident_key: str


@dataclass
class Timings:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)


def accounts() -> list[Account]:
    """A central analyst and a responder per province, each with a fresh session and an incident it may open."""
    from incidents.models import Incident
    from organisations.models import Organisation, Role
    from organisations.services import user_with_role

    national = Organisation.objects.get(kind="national")
    out = []
    for org in Organisation.objects.provinces():
        for role, home in ((Role.PROVINCIAL_RESPONDER, org), (Role.CENTRAL_ANALYST, national)):
            user = user_with_role(username=f"bench.users.{role}.{org.code.lower()}", password=PASSWORD,
                                  organisation=home, role=role)
            key = Incident.objects.filter(key__startswith="BEN-", province=org).order_by("-created_at")[0].key
            out.append(Account(signed_in(user), key))
    return out


def client_for(base: str, connections: int) -> aiohttp.ClientSession:
    """One session for every virtual user, each request carrying its user's cookie. aiohttp rather than httpx:
    httpx's client cost the generator 0.9 of a core at 200 users (40 requests/s), on the two cores the server
    needs; no cookie jar, so one user's cookies never reach another's requests."""
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=0)
    return aiohttp.ClientSession(base_url=base, connector=connector, headers=HEADERS,
                                 cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=120))


async def get(client: aiohttp.ClientSession, path: str, account: Account, name: str, timings: Timings) -> None:
    started = time.monotonic()
    try:
        async with client.get(path, headers={"Cookie": f"sessionid={account.session}"},
                              allow_redirects=False) as resp:
            await resp.read()
            outcome = str(resp.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        outcome = type(exc).__name__
    if outcome == "200":
        timings.seconds.setdefault(name, []).append(time.monotonic() - started)
    else:
        timings.failures[outcome] += 1


async def user(client: aiohttp.ClientSession, account: Account, stop_at: float, timings: Timings,
               rng: random.Random) -> None:
    names = list(PAGES)
    weights = [PAGES[n][1] for n in names]
    await asyncio.sleep(rng.uniform(*THINK))
    while time.monotonic() < stop_at:
        name = rng.choices(names, weights)[0]
        await get(client, PAGES[name][0].format(key=account.incident_key), account, name, timings)
        await asyncio.sleep(rng.uniform(*THINK))


async def level(base: str, users: int, pool: list[Account], seconds: float) -> tuple[Timings, float]:
    timings = Timings()
    rng = random.Random(users)
    started = time.monotonic()
    async with client_for(base, users) as client:
        await asyncio.gather(*(user(client, pool[n % len(pool)], started + seconds, timings, rng)
                               for n in range(users)))
    return timings, time.monotonic() - started


async def closed_loop(base: str, clients: int, pool: list[Account], seconds: float) -> tuple[Timings, float]:
    """``clients`` each asking the triage queue and the API list in turn, the next request as soon as the last
    one is answered."""
    timings = Timings()
    stop_at = time.monotonic() + seconds

    async def client_loop(client: aiohttp.ClientSession, account: Account) -> None:
        n = 0
        while time.monotonic() < stop_at:
            name = ("triage_queue", "api_incident_list")[n % 2]
            n += 1
            await get(client, PAGES[name][0], account, name, timings)

    started = time.monotonic()
    async with client_for(base, clients) as client:
        await asyncio.gather(*(client_loop(client, pool[n % len(pool)]) for n in range(clients)))
    return timings, time.monotonic() - started


class ConnectionCount:
    """PostgreSQL connections to the bench database, sampled in a thread: the most seen, and now."""

    def __init__(self) -> None:
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                           [DATABASE])
            return int(cursor.fetchone()[0])

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(0.5):
                self.most = max(self.most, self.now())
        finally:
            connection.close()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.most


class CpuSplit:
    """Share of one core each part of the machine used over a level: the web tree, PostgreSQL, Elasticsearch,
    Redis and this load generator (which shares the two cores with the server here, as no real user does)."""

    def __init__(self, web_pid: int) -> None:
        from urllib.parse import urlsplit

        from django.conf import settings

        ports = {"pg": int(str(settings.DATABASES["default"]["PORT"])),
                 "es": urlsplit(settings.ELASTICSEARCH_URL).port or 9200,
                 "redis": urlsplit(settings.REDIS_URL).port or 6379}
        pids = {name: procstat.listening_pid(port) for name, port in ports.items()}
        self.groups = {"web": web_pid, **{k: v for k, v in pids.items() if v}}
        self.began = time.monotonic()
        self.start = self._cpu()

    def _cpu(self) -> dict[str, float]:
        """Each service with its children; the generator alone (the web server is its child)."""
        cpu = {name: procstat.sample(procstat.tree(pid)).cpu_seconds for name, pid in self.groups.items()}
        return {**cpu, "loadgen": procstat.sample([os.getpid()]).cpu_seconds}

    def figures(self) -> dict[str, int]:
        wall, now = time.monotonic() - self.began, self._cpu()
        return {f"{name}_cpu_pct": round(100 * (now[name] - self.start[name]) / wall) for name in now}


def figures(timings: Timings, wall: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in PAGES:
        ms = [s * 1000 for s in timings.seconds.get(name, [])]
        out[f"{name}_p95_ms"] = round(p(ms, 95))
    done = sum(len(v) for v in timings.seconds.values())
    out["requests_per_s"] = round(done / wall, 1)
    out["requests"] = done
    out["failures"] = sum(timings.failures.values())
    out["failures_by_kind"] = dict(timings.failures)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", default=os.environ.get("SOC_BENCH_SHORT") == "1",
                        help="20 s per user level, 10 s per closed-loop level")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOC_USERS_SECONDS", "0")),
                        help="per user level (default 60, short 20)")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)),
                        help="concurrent users per level, comma-separated (default %(default)s)")
    parser.add_argument("--no-closed-loop", action="store_true", help="the user levels only")
    parser.add_argument("--baseline", help="another checkout (a git worktree) to serve and measure the same way")
    args = parser.parse_args()
    seconds = args.seconds or (20 if args.short else 60)
    loop_seconds = 10 if args.short else 30
    django_setup()
    seed_incidents(INCIDENTS, reseed=False)
    seed_events(EVENTS)
    pool = accounts()
    roots = {"this": ROOT, **({"baseline": Path(args.baseline).resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory() as tmp:
        for name, root in roots.items():
            server = WebServer(root, production_env(root, Path(tmp) / f"static-{name}"), Path(tmp) / f"{name}.log",
                               workers=WEB_WORKERS)
            try:
                levels = [int(n) for n in args.levels.split(",")]
                run_levels(name, server, pool, levels, seconds, 0 if args.no_closed_loop else loop_seconds)
            finally:
                server.stop()
                explain_errors(server.log)


def run_levels(name: str, server: WebServer, pool: list[Account], levels: list[int], seconds: float,
               loop_seconds: float) -> None:
    common = {"web_workers": WEB_WORKERS, "incidents": INCIDENTS, "events": EVENTS}
    base = server.base
    connections = ConnectionCount()
    for users in levels:
        cpu = CpuSplit(server.proc.pid)
        timings, wall = asyncio.run(level(base, users, pool, seconds))
        report(f"users ({name}): {users} concurrent (console + API)", {
            **figures(timings, wall), "seconds": seconds, "think_s": "1-3", **common,
            "pg_connections_max": connections.most, **cpu.figures()},
            target="0 errors; pages p95 <= 300 ms at 50 users, <= 1 s at 200")
    throughput = {}
    for clients in CLOSED_LOOP if loop_seconds else ():
        timings, wall = asyncio.run(closed_loop(base, clients, pool, loop_seconds))
        done = [s * 1000 for v in timings.seconds.values() for s in v]
        throughput[clients] = len(done) / wall
        report(f"users ({name}): closed loop, {clients} clients (triage queue / API list)", {
            "requests_per_s": round(throughput[clients], 1), "p50_ms": round(p(done, 50)),
            "p95_ms": round(p(done, 95)), "failures": sum(timings.failures.values()), "seconds": loop_seconds,
            **common, "pg_connections_max": connections.most})
    if not throughput:
        return
    report(f"users ({name}): closed loop scaling", {
        "ratio_32_over_1": round(throughput[32] / throughput[1], 2), "pg_connections_max": connections.stop()},
        target="ratio >= 1.6; connections bounded by the pool")


def explain_errors(log: Path, lines: int = 12) -> None:
    """A failure in the table is only useful with its cause: the server's last error lines go to stderr."""
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors = [line for line in text if "Error" in line or "Exception" in line]
    if errors:
        print(f"web errors ({len(errors)} lines), last {lines}:", *errors[-lines:], sep="\n  ", file=sys.stderr)


if __name__ == "__main__":
    main()
