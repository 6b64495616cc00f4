"""680 collectors (34 provinces x 20) shipping to one ingest node; then one province floods at 10x its quota.

Each simulated collector is a coroutine that behaves like the agent on the wire: every 2 s it ships
what it produced since the last batch (real ECS documents, parsed at the edge from sshd, sudo and
nginx lines), gzip-compressed, with its own collector credential; ``retry`` answers and transport
errors are resent, a 429 waits for Retry-After. Province sizes differ: Hà Nội and Hồ Chí Minh at 3x,
six provinces at 1.5x, the rest at 1x (``SOC_LOAD_RATE`` events/s per collector).

Each also posts the agent's heartbeat every 5 s (``SOC_LOAD_HEARTBEAT``).

Phase 1 (baseline): every province at its normal rate. Phase 2 (flood): the same, while the 20
collectors of one small province offer 10x the province quota (``SOC_LOAD_PROVINCE_QUOTA``, events/s,
given to the web process) and, misbehaving, resend 0.25 s after each 429 instead of waiting.

Ingest lag of an event = from the moment the collector produced it to the answer that stored it
(so a batch held back by a 429 or a slow answer counts). Reported: sustained events/s stored, the
other provinces' lag p95 (pooled, and the worst single province) in both phases, the bound they must
meet, and CPU (share of one core) and RSS of the web processes, Elasticsearch and this generator.

    .venv/bin/python bench/load_bench.py            # 2 x 5 minutes (SOC_LOAD_SECONDS per phase)
    .venv/bin/python bench/load_bench.py --short    # 2 x 30 seconds (also SOC_BENCH_SHORT=1)
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import procstat
from bench.common import p, report
from bench.harness import Processes, bench_env, django_setup, free_port, wait_http

SHORT = "--short" in sys.argv or os.environ.get("SOC_BENCH_SHORT") == "1"
PHASE_SECONDS = float(os.environ.get("SOC_LOAD_SECONDS", "30" if SHORT else "300"))
RATE = float(os.environ.get("SOC_LOAD_RATE", "1.0"))  # events/s of an ordinary collector
QUOTA = int(os.environ.get("SOC_LOAD_PROVINCE_QUOTA", "100"))  # events/s per province, at the web process
WEB_WORKERS = int(os.environ.get("SOC_LOAD_WEB_WORKERS", "4"))  # I/O-bound: Django runs sync views one at a time
HEARTBEAT = float(os.environ.get("SOC_LOAD_HEARTBEAT", "5"))  # seconds, the agent's default
PER_PROVINCE = 20
PERIOD = 2.0  # seconds between a collector's batches
MAX_BATCH = 1000
DRAIN_SECONDS = 30.0  # after a phase, what was produced may still be shipped (the flood's backlog is not)
FLOOD_RETRY = 0.25
LARGE, MEDIUM = ("HNI", "HCM"), ("HPG", "DNG", "CTO", "QNH", "THA", "NAN")
FLOOD_PROVINCE = "LCU"  # a small province
SAMPLE_LINES = [
    "Jul 30 10:00:00 {host} sshd[{n}]: Failed password for invalid user admin from 203.0.113.{b} port {n} ssh2",
    "Jul 30 10:00:00 {host} sshd[{n}]: Accepted publickey for deploy from 10.20.0.{b} port {n} ssh2",
    "Jul 30 10:00:00 {host} sudo[{n}]: deploy : TTY=pts/0 ; PWD=/srv ; USER=root ; COMMAND=/usr/bin/systemctl "
    "restart app",
    '10.20.1.{b} - - [30/Jul/2026:10:00:00 +0700] "GET /api/v1/items?page={n} HTTP/1.1" 200 {n} "-" "curl/8.5"',
    '203.0.113.{b} - - [30/Jul/2026:10:00:00 +0700] "POST /wp-login.php HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
]


@dataclass
class Sim:
    province: str
    name: str
    secret: str
    rate: float
    flood: bool = False


@dataclass
class Tally:
    lags: dict[str, list[float]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    unsent: Counter[str] = field(default_factory=Counter)

    def stored(self, province: str, lags: list[float]) -> None:
        self.lags.setdefault(province, []).extend(lags)


def templates() -> list[dict[str, Any]]:
    from collectors.agent.parsers import ParseContext, parse_line

    ctx = ParseContext(host="load-host")
    return [parse_line(line.format(host="load-host", n=n, b=n % 250 + 1), ctx)
            for n in range(40) for line in SAMPLE_LINES]


def batch_body(sim: Sim, items: list[tuple[int, float]], docs: list[dict[str, Any]]) -> bytes:
    events = []
    for seq, made in items:
        doc = dict(docs[seq % len(docs)])
        doc["@timestamp"] = datetime.fromtimestamp(made, UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
        events.append({"id": f"{sim.name}:{seq}", "doc": doc})
    return gzip.compress(json.dumps({"events": events}).encode(), compresslevel=1)


async def ship(client: httpx.AsyncClient, sim: Sim, pending: list[tuple[int, float]], docs: list[dict[str, Any]],
               tally: Tally) -> float:
    """One request for the oldest pending events; returns how long to wait before the next (0: go on)."""
    batch = pending[:MAX_BATCH]
    headers = {"Authorization": f"Bearer {sim.secret}", "Content-Encoding": "gzip",
               "Content-Type": "application/json"}
    try:
        resp = await client.post("/api/v1/ingest/events", content=batch_body(sim, batch, docs), headers=headers)
    except httpx.HTTPError:
        tally.counts["transport_error"] += 1
        return 1.0
    if resp.status_code == 429:
        tally.counts["throttled" if not sim.flood else "flood_throttled"] += 1
        return FLOOD_RETRY if sim.flood else float(resp.headers.get("Retry-After", "1"))
    if resp.status_code != 200:
        tally.counts[f"http_{resp.status_code}"] += 1
        return 1.0
    now = time.time()
    statuses = {r["id"]: r["status"] for r in resp.json()["results"]}
    done = {seq for seq, _ in batch if statuses.get(f"{sim.name}:{seq}") in ("created", "duplicate", "rejected")}
    for status in statuses.values():
        tally.counts[status if not sim.flood else f"flood_{status}"] += 1
    tally.stored(sim.province, [now - made for seq, made in batch if seq in done])
    pending[:] = [item for item in pending if item[0] not in done]
    return 0.0 if pending else PERIOD


async def heartbeats(client: httpx.AsyncClient, sim: Sim, stop_at: float, tally: Tally) -> None:
    """The agent's report every HEARTBEAT seconds: part of the request load of 680 collectors."""
    report_body = {"version": "load", "hostname": sim.name, "spool": {"depth": 0, "bytes": 0}, "drops": 0}
    while time.time() < stop_at:
        try:
            resp = await client.post("/api/v1/collectors/heartbeat", json=report_body,
                                     headers={"Authorization": f"Bearer {sim.secret}"})
            tally.counts["heartbeat_ok" if resp.status_code == 200 else "heartbeat_failed"] += 1
        except httpx.HTTPError:
            tally.counts["heartbeat_failed"] += 1
        await asyncio.sleep(HEARTBEAT)


async def collector(client: httpx.AsyncClient, sim: Sim, stop_at: float, docs: list[dict[str, Any]],
                    tally: Tally, rng: random.Random) -> None:
    pending: list[tuple[int, float]] = []
    seq, carry = 0, 0.0
    last = time.time()
    await asyncio.sleep(rng.uniform(0, PERIOD))  # collectors do not start in step
    beating = asyncio.create_task(heartbeats(client, sim, stop_at, tally))
    while time.time() < stop_at + DRAIN_SECONDS and (pending or time.time() < stop_at):
        now = time.time()
        if now < stop_at:
            carry += sim.rate * (now - last)
            made = int(carry)
            carry -= made
            step = (now - last) / max(made, 1)
            pending += [(seq + i, last + step * (i + 1)) for i in range(made)]
            seq += made
        last = now
        wait = await ship(client, sim, pending, docs, tally) if pending else PERIOD
        if wait:
            await asyncio.sleep(min(wait, max(0.05, stop_at + DRAIN_SECONDS - time.time())))
    tally.unsent[sim.province] += len(pending)
    await beating


async def phase(base: str, sims: list[Sim], seconds: float, docs: list[dict[str, Any]]) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=len(sims), max_keepalive_connections=len(sims))
    started = time.time()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        rng = random.Random(8)
        await asyncio.gather(*(collector(client, sim, started + seconds, docs, tally, rng) for sim in sims))
    return tally, time.time() - started


def make_collectors(run: str) -> list[Sim]:
    from collectors.models import Collector
    from collectors.services import collector_create
    from organisations.models import Organisation
    from organisations.provinces import PROVINCES
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    Collector.objects.filter(name__startswith="load-").delete()
    sims = []
    for code, _ in PROVINCES:
        org = Organisation.objects.get(code=code)
        weight = 3.0 if code in LARGE else 1.5 if code in MEDIUM else 1.0
        for n in range(PER_PROVINCE):
            name = f"load-{run}-{code}-{n}"
            _, secret = collector_create(organisation=org, name=name)
            sims.append(Sim(code, name, secret, RATE * weight))
    return sims


def flooding(sims: list[Sim]) -> list[Sim]:
    """The same collectors (new event ids), the flood province's offering 10x the province quota between them."""
    return [Sim(s.province, f"{s.name}-f", s.secret, 10 * QUOTA / PER_PROVINCE, flood=True)
            if s.province == FLOOD_PROVINCE else Sim(s.province, f"{s.name}-f", s.secret, s.rate) for s in sims]


def lag_figures(tally: Tally) -> tuple[float, float]:
    """(pooled p95, worst province's p95) of every province but the flooding one, in seconds."""
    others = {code: lags for code, lags in tally.lags.items() if code != FLOOD_PROVINCE}
    pooled = [lag for lags in others.values() for lag in lags]
    return p(pooled, 95), max((p(lags, 95) for lags in others.values()), default=0.0)


class Usage:
    """CPU share of one core and peak RSS of the web tree, Elasticsearch and this process over a phase."""

    def __init__(self, web_pid: int) -> None:
        from django.conf import settings

        es_pid = procstat.listening_pid(urlsplit(settings.ELASTICSEARCH_URL).port or 9200)
        self.groups = {"web": lambda: procstat.tree(web_pid), "es": lambda: [es_pid] if es_pid else [],
                       "loadgen": lambda: [os.getpid()]}
        self.start = {k: procstat.sample(f()) for k, f in self.groups.items()}
        self.began = time.monotonic()
        self.peak = {k: s.rss_mb for k, s in self.start.items()}

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for k, f in self.groups.items():
                self.peak[k] = max(self.peak[k], procstat.sample(f()).rss_mb)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)

    def figures(self) -> dict[str, float]:
        wall = time.monotonic() - self.began
        out: dict[str, float] = {}
        for k, f in self.groups.items():
            out[f"{k}_cpu_pct"] = round(100 * (procstat.sample(f()).cpu_seconds - self.start[k].cpu_seconds) / wall)
            out[f"{k}_rss_mb"] = round(self.peak[k])
        return out


async def measured(base: str, sims: list[Sim], web_pid: int, docs: list[dict[str, Any]]) -> tuple[Tally, float,
                                                                                                   dict[str, float]]:
    usage = Usage(web_pid)
    stop = asyncio.Event()
    watcher = asyncio.create_task(usage.watch(stop))
    tally, wall = await phase(base, sims, PHASE_SECONDS, docs)
    stop.set()
    await watcher
    return tally, wall, usage.figures()


def stored_in_es() -> int:
    from django.conf import settings

    from soc import es

    index = f"{settings.ES_INDEX_PREFIX}events-*"
    es.client().indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
    return int(es.client().count(index=index, allow_no_indices=True, ignore_unavailable=True)["count"])


def phase_figures(tally: Tally, usage: dict[str, float]) -> dict[str, Any]:
    created = sum(n for status, n in tally.counts.items() if status in ("created", "flood_created"))
    pooled, worst = lag_figures(tally)
    return {"stored_events_per_s": round(created / PHASE_SECONDS), "others_lag_p95_ms": round(pooled * 1000),
            "worst_province_lag_p95_ms": round(worst * 1000),
            "others_unsent": sum(n for code, n in tally.unsent.items() if code != FLOOD_PROVINCE),
            "others_throttled": tally.counts["throttled"], "transport_errors": tally.counts["transport_error"],
            "http_errors": sum(n for status, n in tally.counts.items() if status.startswith("http_")),
            "heartbeats_failed": tally.counts["heartbeat_failed"],
            **usage}


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    os.environ["SOC_ES_PREFIX"] = "bench-load-"  # its own indices, deleted before it starts
    django_setup()
    from django.conf import settings

    from soc import es

    es.client().indices.delete(index=f"{settings.ES_INDEX_PREFIX}events-*", ignore_unavailable=True,
                               allow_no_indices=True)
    sims = make_collectors(str(int(time.time())))
    docs = templates()
    offered = sum(s.rate for s in sims)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        procs = Processes(Path(os.environ.get("SOC_BENCH_LOGDIR", "") or Path(tmp) / "logs"))
        web = procs.spawn("web", "-m", "uvicorn", "soc.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                          "--log-level", "warning", "--no-access-log", "--workers", str(WEB_WORKERS),
                          env={**bench_env(), "SOC_INGEST_RATE_PER_PROVINCE": str(QUOTA)})
        try:
            wait_http(f"http://127.0.0.1:{port}/login/")
            base = f"http://127.0.0.1:{port}"
            baseline, _, base_usage = asyncio.run(measured(base, sims, web.pid, docs))
            flood, _, flood_usage = asyncio.run(measured(base, flooding(sims), web.pid, docs))
        finally:
            procs.stop()
    created = sum(n for t in (baseline, flood) for s, n in t.counts.items() if s in ("created", "flood_created"))
    stored = stored_in_es()
    es.client().indices.delete(index=f"{settings.ES_INDEX_PREFIX}events-*", ignore_unavailable=True,
                               allow_no_indices=True)  # hundreds of thousands of events nobody reads again
    base_p95, flood_p95 = lag_figures(baseline)[0], lag_figures(flood)[0]
    bound = max(2 * base_p95, base_p95 + 1.0)
    common = {"collectors": len(sims), "phase_s": PHASE_SECONDS, "offered_events_per_s": round(offered),
              "web_workers": WEB_WORKERS, "province_quota_per_s": QUOTA}
    report("load: 680 collectors, baseline", {**common, **phase_figures(baseline, base_usage)})
    report("load: one province floods at 10x its quota", {
        **phase_figures(flood, flood_usage), "flood_offered_per_s": 10 * QUOTA,
        "flood_stored_per_s": round(flood.counts["flood_created"] / PHASE_SECONDS),
        "flood_throttled": flood.counts["flood_throttled"], "flood_unsent": flood.unsent[FLOOD_PROVINCE],
        "bound_ms": round(bound * 1000), "bound_met": flood_p95 <= bound,
        "stored_once": stored == created, "stored_in_es": stored, "answered_created": created,
    }, target="others' lag p95 with the flood <= max(2x baseline, baseline + 1 s)")


if __name__ == "__main__":
    main()
