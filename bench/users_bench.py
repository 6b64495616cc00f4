"""Console and API under 50 and 200 concurrent users: p95 per page as the users see it.

An asyncio/httpx load generator (not locust: one process, no gevent, and a third of the CPU of the
same load on this 2-core box, where the generator shares the cores with the server). Each virtual
user holds its own signed-in session (central analysts and provincial responders of every province)
and loops: a page chosen from the mix below, then 1-3 s of think time. The server is uvicorn with
``SOC_USERS_WEB_WORKERS`` workers over the console benchmark's data (incidents in the bench database,
events under the ``bench-console-`` prefix, seeded if missing). Times are client-side: queueing
included.

    .venv/bin/python bench/users_bench.py            # 60 s per level (SOC_USERS_SECONDS)
    .venv/bin/python bench/users_bench.py --short    # 20 s per level (also SOC_BENCH_SHORT=1)
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import p, report
from bench.console_bench import PASSWORD, seed_events, seed_incidents
from bench.harness import Processes, bench_env, django_setup, free_port, wait_http

SHORT = "--short" in sys.argv or os.environ.get("SOC_BENCH_SHORT") == "1"
SECONDS = float(os.environ.get("SOC_USERS_SECONDS", "20" if SHORT else "60"))
LEVELS = (50, 200)
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
    from django.conf import settings
    from django.test import Client

    from incidents.models import Incident
    from organisations.models import Organisation, Role
    from organisations.services import user_with_role

    national = Organisation.objects.get(kind="national")
    out = []
    for org in Organisation.objects.provinces():
        for role, home in ((Role.PROVINCIAL_RESPONDER, org), (Role.CENTRAL_ANALYST, national)):
            user = user_with_role(username=f"bench.users.{role}.{org.code.lower()}", password=PASSWORD,
                                  organisation=home, role=role)
            client = Client()
            client.force_login(user)
            key = Incident.objects.filter(key__startswith="BEN-", province=org).order_by("-created_at")[0].key
            out.append(Account(client.cookies[settings.SESSION_COOKIE_NAME].value, key))
    return out


async def user(base: str, account: Account, stop_at: float, timings: Timings, rng: random.Random) -> None:
    names = list(PAGES)
    weights = [PAGES[n][1] for n in names]
    async with httpx.AsyncClient(base_url=base, cookies={"sessionid": account.session}, timeout=120) as client:
        await asyncio.sleep(rng.uniform(*THINK))
        while time.monotonic() < stop_at:
            name = rng.choices(names, weights)[0]
            started = time.monotonic()
            try:
                resp = await client.get(PAGES[name][0].format(key=account.incident_key))
                outcome = str(resp.status_code)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if outcome == "200":
                timings.seconds.setdefault(name, []).append(time.monotonic() - started)
            else:
                timings.failures[outcome] += 1
            await asyncio.sleep(rng.uniform(*THINK))


async def level(base: str, users: int, pool: list[Account]) -> tuple[Timings, float]:
    timings = Timings()
    rng = random.Random(users)
    started = time.monotonic()
    await asyncio.gather(*(user(base, pool[n % len(pool)], started + SECONDS, timings, rng) for n in range(users)))
    return timings, time.monotonic() - started


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
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    django_setup()
    seed_incidents(INCIDENTS, reseed=False)
    seed_events(EVENTS)
    pool = accounts()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        procs = Processes(Path(tmp) / "logs")
        procs.spawn("web", "-m", "uvicorn", "soc.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning", "--no-access-log", "--workers", str(WEB_WORKERS), env=bench_env())
        try:
            wait_http(f"http://127.0.0.1:{port}/login/")
            for users in LEVELS:
                timings, wall = asyncio.run(level(f"http://127.0.0.1:{port}", users, pool))
                report(f"users: {users} concurrent (console + API)", {
                    **figures(timings, wall), "seconds": SECONDS, "think_s": "1-3", "web_workers": WEB_WORKERS,
                    "incidents": INCIDENTS, "events": EVENTS}, target="pages <= 300 ms p95, search <= 500 ms p95")
        finally:
            procs.stop()
            explain_errors(Path(tmp) / "logs" / "web.log")


def explain_errors(log: Path, lines: int = 12) -> None:
    """A failure in the table is only useful with its cause: the server's last error lines go to stderr."""
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors = [line for line in text if "Error" in line or "Exception" in line]
    if errors:
        print(f"web errors ({len(errors)} lines), last {lines}:", *errors[-lines:], sep="\n  ", file=sys.stderr)


if __name__ == "__main__":
    main()
