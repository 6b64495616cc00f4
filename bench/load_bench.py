"""680 collectors (34 provinces x 20) shipping to one ingest node: a baseline, one province flooding at 10x its
quota, and the national ingest capacity against rsyslog's omelasticsearch on the same node.

Each simulated collector is a coroutine that behaves like the agent on the wire: every ``--period`` seconds
(default 1 s; the agent itself looks every 0.2 s) it ships what it produced since the last batch (real ECS
documents, parsed at the edge from sshd, sudo and nginx lines), gzip-compressed, with its own collector
credential; ``retry`` answers and transport errors are resent, a 429 waits for Retry-After. Province sizes
differ: Ha Noi and Ho Chi Minh at 3x, six provinces at 1.5x, the rest at 1x (``SOC_LOAD_RATE`` events/s per
collector). Each also posts the agent's heartbeat every 5 s (``SOC_LOAD_HEARTBEAT``).

Phase 1 (baseline): every province at its normal rate. Phase 2 (flood): the same, while the 20 collectors of
one small province offer 10x the province quota (``SOC_LOAD_PROVINCE_QUOTA``, events/s, given to the web
process) and, misbehaving, resend 0.25 s after each 429 instead of waiting.

Ingest lag of an event = from the moment the collector produced it to the answer that stored it (so a batch
held back by a 429 or a slow answer counts, and so does the collector's own wait for its next batch: up to
``--period``). Reported: sustained events/s stored, the other provinces' lag p95 (pooled, and the worst single
province) and answer time p95 in both phases, the bound they must meet, and CPU (share of one core) and RSS of
the web processes, Elasticsearch and this generator.

Phase 3 (capacity): the web processes restarted with the production rate limits, every collector holds a
backlog of pre-parsed ECS batches (built before the clock starts, as the agent's spool holds them) and ships
them one after another as fast as it is answered, heartbeats going on; then rsyslog (imfile +
omelasticsearch, 4 workers, bulk mode) ships the same number of the same documents, one JSON document per line
sent as it is, into an index of the same template on the same node. Both are timed until all is searchable;
figures: events/s of each, ours / rsyslog's, and rsyslog with its usual three raw fields per line for
reference. rsyslog lets Elasticsearch choose the ids (no exactly-once), ours are ``<collector>:<id>`` created
once.

    .venv/bin/python bench/load_bench.py            # 2 x 5 minutes, then the capacity phase
    .venv/bin/python bench/load_bench.py --short    # 2 x 30 seconds (also SOC_BENCH_SHORT=1)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
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

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import procstat
from bench.common import cli, p, report, short_mode
from bench.harness import Processes, bench_env, django_setup, free_port, wait_http
from bench.peer_rsyslog_bench import LINE_AS_DOCUMENT, RAW_FIELDS

SHORT = short_mode()
RATE = float(os.environ.get("SOC_LOAD_RATE", "1.0"))  # events/s of an ordinary collector
QUOTA = int(os.environ.get("SOC_LOAD_PROVINCE_QUOTA", "100"))  # events/s per province, at the web process
HEARTBEAT = float(os.environ.get("SOC_LOAD_HEARTBEAT", "5"))  # seconds, the agent's default
PER_PROVINCE = 20
MAX_BATCH = 1000
CAPACITY_BATCH = 500  # the agent's default batch size
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


def options() -> argparse.Namespace:
    parser = cli(__doc__, short="2 x 30 s phases and 200,000 events in the capacity phase "
                                "(instead of 2 x 300 s and 600,000)")
    env = os.environ.get
    parser.add_argument("--seconds", type=float, default=float(env("SOC_LOAD_SECONDS", "30" if SHORT else "300")),
                        help="length of the baseline and of the flood phase")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between a collector's batches")
    parser.add_argument("--workers", type=int, default=int(env("SOC_LOAD_WEB_WORKERS", "2")),
                        help="uvicorn workers (async ingest: one per core)")
    parser.add_argument("--capacity-events", type=int, default=200_000 if SHORT else 600_000,
                        help="events shipped by the collectors, then by rsyslog, in the capacity phase (0: skip)")
    parser.add_argument("--no-flood", action="store_true", help="the baseline only (and capacity)")
    return parser.parse_args()


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
    answers: dict[str, list[float]] = field(default_factory=dict)  # request sent -> answered, per province
    counts: Counter[str] = field(default_factory=Counter)
    unsent: Counter[str] = field(default_factory=Counter)

    def stored(self, province: str, lags: list[float], answer: float) -> None:
        self.lags.setdefault(province, []).extend(lags)
        self.answers.setdefault(province, []).append(answer)


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


def headers(sim: Sim) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.secret}", "Content-Encoding": "gzip", "Content-Type": "application/json"}


@dataclass
class Answer:
    status: int
    retry_after: float
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def post(client: aiohttp.ClientSession, path: str, body: bytes, headers: dict[str, str]) -> Answer | None:
    """One request; None on a transport error. aiohttp rather than httpx: httpx's pool looks through every open
    connection for each request, and with 680 of them the generator spent 97% of its time there (py-spy), which
    is what held the events back in earlier runs, not the server."""
    try:
        async with client.post(path, data=body, headers=headers) as resp:
            return Answer(resp.status, float(resp.headers.get("Retry-After", "1")), await resp.read())
    except (aiohttp.ClientError, TimeoutError):
        return None


async def ship(client: aiohttp.ClientSession, sim: Sim, pending: list[tuple[int, float]], docs: list[dict[str, Any]],
               tally: Tally, period: float) -> float:
    """One request for the oldest pending events; returns how long to wait before the next (0: go on)."""
    batch = pending[:MAX_BATCH]
    sent = time.time()
    resp = await post(client, "/api/v1/ingest/events", batch_body(sim, batch, docs), headers(sim))
    if resp is None:
        tally.counts["transport_error"] += 1
        return 1.0
    if resp.status == 429:
        tally.counts["throttled" if not sim.flood else "flood_throttled"] += 1
        return FLOOD_RETRY if sim.flood else resp.retry_after
    if resp.status != 200:
        tally.counts[f"http_{resp.status}"] += 1
        return 1.0
    now = time.time()
    statuses = {r["id"]: r["status"] for r in resp.json()["results"]}
    done = {seq for seq, _ in batch if statuses.get(f"{sim.name}:{seq}") in ("created", "duplicate", "rejected")}
    for status in statuses.values():
        tally.counts[status if not sim.flood else f"flood_{status}"] += 1
    tally.stored(sim.province, [now - made for seq, made in batch if seq in done], now - sent)
    pending[:] = [item for item in pending if item[0] not in done]
    return 0.0 if pending else period


async def heartbeats(client: aiohttp.ClientSession, sim: Sim, stop_at: float, tally: Tally) -> None:
    """The agent's report every HEARTBEAT seconds: part of the request load of 680 collectors."""
    body = json.dumps({"version": "load", "hostname": sim.name, "spool": {"depth": 0, "bytes": 0}, "drops": 0})
    auth = {"Authorization": f"Bearer {sim.secret}", "Content-Type": "application/json"}
    while time.time() < stop_at:
        resp = await post(client, "/api/v1/collectors/heartbeat", body.encode(), auth)
        tally.counts["heartbeat_ok" if resp is not None and resp.status == 200 else "heartbeat_failed"] += 1
        await asyncio.sleep(HEARTBEAT)


async def collector(client: aiohttp.ClientSession, sim: Sim, stop_at: float, docs: list[dict[str, Any]],
                    tally: Tally, rng: random.Random, period: float) -> None:
    pending: list[tuple[int, float]] = []
    seq, carry = 0, 0.0
    last = time.time()
    await asyncio.sleep(rng.uniform(0, period))  # collectors do not start in step
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
        wait = await ship(client, sim, pending, docs, tally, period) if pending else period
        if wait:
            await asyncio.sleep(min(wait, max(0.05, stop_at + DRAIN_SECONDS - time.time())))
    tally.unsent[sim.province] += len(pending)
    await beating


def client_for(base: str, sims: list[Sim]) -> aiohttp.ClientSession:
    """A connection for each collector's batches and one for its heartbeats, as the agent keeps them."""
    connector = aiohttp.TCPConnector(limit=2 * len(sims), limit_per_host=0, force_close=False)
    return aiohttp.ClientSession(base_url=base, connector=connector, timeout=aiohttp.ClientTimeout(total=120))


async def phase(base: str, sims: list[Sim], seconds: float, docs: list[dict[str, Any]],
                period: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.time()
    async with client_for(base, sims) as client:
        rng = random.Random(8)
        await asyncio.gather(*(collector(client, sim, started + seconds, docs, tally, rng, period) for sim in sims))
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


async def measured(base: str, sims: list[Sim], web_pid: int, docs: list[dict[str, Any]],
                   args: argparse.Namespace) -> tuple[Tally, float, dict[str, float]]:
    usage = Usage(web_pid)
    stop = asyncio.Event()
    watcher = asyncio.create_task(usage.watch(stop))
    tally, wall = await phase(base, sims, args.seconds, docs, args.period)
    stop.set()
    await watcher
    return tally, wall, usage.figures()


def searchable(index: str) -> int:
    """Events searchable in ``index``; 0 while a new daily index's shard is still starting (503), to ask again."""
    from elasticsearch import ApiError

    from soc import es

    try:
        es.client().indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
        return int(es.client().count(index=index, allow_no_indices=True, ignore_unavailable=True)["count"])
    except ApiError as exc:
        if exc.meta.status != 503:
            raise
        return 0


def ours_pattern() -> str:
    """Our daily event indices (``events-2026.12.04``), not rsyslog's (``events-rsyslog-...``)."""
    from django.conf import settings

    return f"{settings.ES_INDEX_PREFIX}events-2*"


def phase_figures(tally: Tally, usage: dict[str, float], seconds: float) -> dict[str, Any]:
    created = sum(n for status, n in tally.counts.items() if status in ("created", "flood_created"))
    pooled, worst = lag_figures(tally)
    answers = [a for code, values in tally.answers.items() if code != FLOOD_PROVINCE for a in values]
    return {"stored_events_per_s": round(created / seconds), "others_lag_p95_ms": round(pooled * 1000),
            "worst_province_lag_p95_ms": round(worst * 1000), "others_answer_p95_ms": round(p(answers, 95) * 1000),
            "others_unsent": sum(n for code, n in tally.unsent.items() if code != FLOOD_PROVINCE),
            "others_throttled": tally.counts["throttled"], "transport_errors": tally.counts["transport_error"],
            "http_errors": sum(n for status, n in tally.counts.items() if status.startswith("http_")),
            "heartbeats_failed": tally.counts["heartbeat_failed"],
            **usage}


def web(procs: Processes, port: int, workers: int, env: dict[str, str]) -> Any:
    # These collectors keep their connections (the agent opens one per request): keep-alive past their 5 s
    # heartbeat, or uvicorn's default (5 s) closes one just as it is used again and the request fails in transit.
    proc = procs.spawn(f"web-{port}", "-m", "uvicorn", "soc.asgi:application", "--host", "127.0.0.1", "--port",
                       str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers),
                       "--timeout-keep-alive", "30", env={**bench_env(), **env})
    wait_http(f"http://127.0.0.1:{port}/login/")
    return proc


def stop(procs: Processes) -> None:
    procs.stop()
    procs.procs.clear()


def load_phases(sims: list[Sim], docs: list[dict[str, Any]], args: argparse.Namespace, logdir: Path) -> int:
    """Baseline and flood at the province quota; reports them and returns the events answered ``created``."""
    procs = Processes(logdir)
    port = free_port()
    try:
        web_proc = web(procs, port, args.workers, {"SOC_INGEST_RATE_PER_PROVINCE": str(QUOTA)})
        base = f"http://127.0.0.1:{port}"
        baseline, _, base_usage = asyncio.run(measured(base, sims, web_proc.pid, docs, args))
        flood = Tally()
        if not args.no_flood:
            flood, _, flood_usage = asyncio.run(measured(base, flooding(sims), web_proc.pid, docs, args))
    finally:
        stop(procs)
    created = sum(n for t in (baseline, flood) for s, n in t.counts.items() if s in ("created", "flood_created"))
    stored = searchable(ours_pattern())
    common = {"collectors": len(sims), "phase_s": args.seconds, "period_s": args.period,
              "offered_events_per_s": round(sum(s.rate for s in sims)), "web_workers": args.workers,
              "province_quota_per_s": QUOTA}
    report("load: 680 collectors, baseline", {**common, **phase_figures(baseline, base_usage, args.seconds)},
           target="others' lag p95 <= 2000 ms, stored = offered")
    if args.no_flood:
        return created
    base_p95, flood_p95 = lag_figures(baseline)[0], lag_figures(flood)[0]
    bound = max(2 * base_p95, base_p95 + 1.0)
    report("load: one province floods at 10x its quota", {
        **phase_figures(flood, flood_usage, args.seconds), "flood_offered_per_s": 10 * QUOTA,
        "flood_stored_per_s": round(flood.counts["flood_created"] / args.seconds),
        "flood_throttled": flood.counts["flood_throttled"], "flood_unsent": flood.unsent[FLOOD_PROVINCE],
        "bound_ms": round(bound * 1000), "bound_met": flood_p95 <= bound,
        "stored_once": stored == created, "stored_in_es": stored, "answered_created": created,
    }, target="others' lag p95 with the flood <= max(2x baseline, baseline + 1 s)")
    return created


# -- capacity ---------------------------------------------------------------------------------------------------


def stored_document(doc: dict[str, Any], sim: Sim, stamp: str) -> dict[str, Any]:
    """What our ingest stores for ``doc`` (server-owned fields included): what rsyslog is given to ship."""
    return {**doc, "@timestamp": stamp, "event": {**doc.get("event", {}), "ingested": stamp},
            "organization": {"id": sim.province, "name": sim.province},
            "agent": {"id": sim.name, "name": sim.name, "type": "soc-collector"}}


def backlogs(sims: list[Sim], docs: list[dict[str, Any]], events: int) -> dict[str, list[bytes]]:
    """Each collector's backlog of gzip-compressed batches of pre-parsed ECS documents, built before the clock
    starts (the agent's spool holds them ready): the generator's CPU in the phase is the HTTP alone."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    encoded = [json.dumps({**doc, "@timestamp": stamp}).encode() for doc in docs]
    out: dict[str, list[bytes]] = {sim.name: [] for sim in sims}
    batches = events // CAPACITY_BATCH
    for n in range(batches):
        sim = sims[n % len(sims)]
        items = b",".join(b'{"id":"cap-%d-%d","doc":%b}' % (n, k, encoded[(n + k) % len(encoded)])
                          for k in range(CAPACITY_BATCH))
        out[sim.name].append(gzip.compress(b'{"events":[' + items + b"]}", compresslevel=1))
    return out


async def drain(client: aiohttp.ClientSession, sim: Sim, bodies: list[bytes], tally: Tally) -> None:
    """Ship the backlog as fast as answered: resend on ``retry``, a transport error or a 429 (after Retry-After)."""
    while bodies:
        resp = await post(client, "/api/v1/ingest/events", bodies[0], headers(sim))
        if resp is None:
            tally.counts["transport_error"] += 1
            await asyncio.sleep(1)
            continue
        if resp.status == 429:
            tally.counts["throttled"] += 1
            await asyncio.sleep(resp.retry_after)
            continue
        if resp.status != 200:
            tally.counts[f"http_{resp.status}"] += 1
            await asyncio.sleep(1)
            continue
        statuses = Counter(r["status"] for r in resp.json()["results"])
        tally.counts.update({k: v for k, v in statuses.items() if k != "retry"})
        if statuses["retry"]:  # resent whole: what was stored answers "duplicate" and is not counted twice
            tally.counts["retried"] += statuses["retry"]
            continue
        bodies.pop(0)


async def capacity_run(base: str, sims: list[Sim], backlog: dict[str, list[bytes]], web_pid: int,
                       ) -> tuple[Tally, float, float, dict[str, float]]:
    """(tally, seconds until the last answer, seconds until all of it searchable, CPU usage)."""
    usage = Usage(web_pid)
    tally = Tally()
    started = time.monotonic()
    async with client_for(base, sims) as client:
        beats = [asyncio.create_task(heartbeats(client, sim, time.time() + 3600, tally)) for sim in sims]
        await asyncio.gather(*(drain(client, sim, backlog[sim.name], tally) for sim in sims))
        answered = time.monotonic() - started
        for beat in beats:
            beat.cancel()
        await asyncio.gather(*beats, return_exceptions=True)
    while searchable(ours_pattern()) < tally.counts["created"] and time.monotonic() - started < answered + 120:
        await asyncio.sleep(0.2)
    return tally, answered, time.monotonic() - started, usage.figures()


def rsyslog_rate(tmp: Path, lines: list[bytes], name: str, document: str) -> tuple[float, dict[str, float]]:
    """Events/s of rsyslog shipping ``lines`` into an index of our events template, until all searchable."""
    from django.conf import settings

    from bench.peer_rsyslog_bench import start_rsyslog

    es_port = urlsplit(settings.ELASTICSEARCH_URL.split(",")[0]).port or 9200
    work = tmp / name
    (work / "in").mkdir(parents=True)
    index = f"{settings.ES_INDEX_PREFIX}events-rsyslog-{name}-{datetime.now(UTC):%Y.%m.%d}"
    (work / "staged").write_bytes(b"\n".join(lines) + b"\n")
    rsyslog = start_rsyslog(work, work / "in" / "*.log", index, es_port, document=document, queue=len(lines) * 2)
    es_pid = procstat.listening_pid(es_port)
    try:
        time.sleep(1)  # rsyslog up and watching
        cpu = procstat.sample([rsyslog.pid]).cpu_seconds
        es_cpu = procstat.sample([es_pid] if es_pid else []).cpu_seconds
        started = time.monotonic()
        os.rename(work / "staged", work / "in" / "batch.log")
        while searchable(index) < len(lines):
            if time.monotonic() - started > 900:
                raise RuntimeError(f"rsyslog stored {searchable(index)} of {len(lines)} in 900 s")
            time.sleep(0.2)
        seconds = time.monotonic() - started
        cpu = procstat.sample([rsyslog.pid]).cpu_seconds - cpu
        es_cpu = procstat.sample([es_pid] if es_pid else []).cpu_seconds - es_cpu
    finally:
        rsyslog.terminate()
        rsyslog.wait(timeout=30)
    return len(lines) / seconds, {"rsyslog_cpu_pct": round(100 * cpu / seconds),
                                  "rsyslog_cpu_us_per_event": round(1e6 * cpu / len(lines), 1),
                                  "es_cpu_pct_under_rsyslog": round(100 * es_cpu / seconds),
                                  "es_cpu_us_per_event_under_rsyslog": round(1e6 * es_cpu / len(lines), 1)}


def per_event(usage: dict[str, float], seconds: float, events: int) -> dict[str, float]:
    """CPU microseconds an event of the web tier and of Elasticsearch: what the rates come from, steadier than them
    on a shared machine."""
    return {f"{part}_cpu_us_per_event": round(usage[f"{part}_cpu_pct"] / 100 * seconds * 1e6 / events, 1)
            for part in ("web", "es")}


def capacity_phase(sims: list[Sim], docs: list[dict[str, Any]], args: argparse.Namespace, logdir: Path) -> None:
    backlog = backlogs(sims, docs, args.capacity_events)
    total = sum(len(b) for b in backlog.values()) * CAPACITY_BATCH
    before = searchable(ours_pattern())
    procs = Processes(logdir)
    port = free_port()
    try:  # the production rate limits: "as fast as allowed"
        web_proc = web(procs, port, args.workers, {})
        tally, answered, seconds, usage = asyncio.run(capacity_run(f"http://127.0.0.1:{port}", sims, backlog,
                                                                   web_proc.pid))
    finally:
        stop(procs)
    stored = searchable(ours_pattern()) - before
    ours = tally.counts["created"] / seconds
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    same_docs = [json.dumps(stored_document(docs[n % len(docs)], sims[n % len(sims)], stamp)).encode()
                 for n in range(total)]
    with tempfile.TemporaryDirectory() as tmpdir:
        peer, peer_usage = rsyslog_rate(Path(tmpdir), same_docs, "ecs", LINE_AS_DOCUMENT)
        raw_lines = [SAMPLE_LINES[n % len(SAMPLE_LINES)].format(host="load-host", n=n, b=n % 250 + 1).encode()
                     for n in range(total)]
        raw, _ = rsyslog_rate(Path(tmpdir), raw_lines, "raw", RAW_FIELDS)
    report("load: capacity, 680 collectors as fast as allowed vs rsyslog omelasticsearch, same node", {
        "events": total, "web_workers": args.workers, "batch": CAPACITY_BATCH,
        "ours_events_per_s": round(ours), "ours_answered_s": round(answered, 1), "ours_searchable_s": round(seconds, 1),
        "rsyslog_same_docs_events_per_s": round(peer), "ours_over_rsyslog": round(ours / peer, 2),
        "rsyslog_raw_3_fields_events_per_s": round(raw), "ours_over_rsyslog_raw": round(ours / raw, 2),
        "stored_once": stored == tally.counts["created"] == total, "stored_in_es": stored,
        "answered_created": tally.counts["created"], "answered_duplicate": tally.counts["duplicate"],
        "retried": tally.counts["retried"], "throttled": tally.counts["throttled"],
        "http_errors": sum(n for status, n in tally.counts.items() if status.startswith("http_")),
        "transport_errors": tally.counts["transport_error"], "heartbeats_ok": tally.counts["heartbeat_ok"],
        "heartbeats_failed": tally.counts["heartbeat_failed"], **usage, **per_event(usage, seconds, total),
        **peer_usage,
        "load_1min": round(os.getloadavg()[0], 1),
    }, target="ours >= 0.8 x rsyslog shipping the same documents")


def main() -> None:
    args = options()
    os.environ["SOC_ES_PREFIX"] = "bench-load-"  # its own indices, deleted before it starts
    django_setup()
    from django.conf import settings

    from soc import es

    events = f"{settings.ES_INDEX_PREFIX}events-*"
    es.client().indices.delete(index=events, ignore_unavailable=True, allow_no_indices=True)
    sims = make_collectors(str(int(time.time())))
    docs = templates()
    with tempfile.TemporaryDirectory() as tmp:
        logdir = Path(os.environ.get("SOC_BENCH_LOGDIR", "") or Path(tmp) / "logs")
        try:
            if args.seconds > 0:
                load_phases(sims, docs, args, logdir)
            if args.capacity_events > 0:
                capacity_phase(sims, docs, args, logdir)
        finally:  # hundreds of thousands of events nobody reads again
            es.client().indices.delete(index=events, ignore_unavailable=True, allow_no_indices=True)


if __name__ == "__main__":
    main()
