"""Detection cycle with ~3,000 rules enabled while collectors ship: the issue's "≤ 10 s" figure.

On its own database (``soc_bench_detload``) and indices (``bench-detload-*``):

1. enables the SigmaHQ Windows rules of the corpus (``rules/windows``, ``rules-threat-hunting/windows``) and
   ``rules-emerging-threats`` (every level and status) plus the starter pack, at a 5 s interval: ~3,000 rules;
2. stores 20,000 recent synthetic events (Sysmon, sshd, web: the detection throughput bench's mix), so the
   Windows rules search real documents;
3. starts the real ingest (uvicorn, ``--workers``) and, in a separate process, ``bench/load_bench.py``'s
   simulated collectors (the agent's wire behaviour: gzip batches every second, heartbeats every 5 s) at
   ``--collectors`` of the 680 of its baseline (34 provinces x 20), for ``--seconds``;
4. meanwhile runs detection cycles exactly as the workers do (the due rules as ``due_batches`` splits them: each
   aggregation rule alone, Sigma and indicator rules 50 to one ``_msearch``; ``--threads`` batches at once as
   that many worker processes would), on beat's tick: every 5 s, or at once
   when the previous cycle overran; a tick with no rule due is not a cycle.

``--windows-share 0.2`` makes a fifth of what the collectors ship Sysmon process events (the throughput bench's
synthetic ones), so Windows rules have new events to search every cycle, not only the stored 20,000 (the
baseline's mix is sshd, sudo and web lines: Windows rules then answer from one log-source probe).

Reported: each cycle's wall time (the due rules run once) p50/p95/max and its ratio to the 10 s target, the
same for the cycles that start once the stored 20,000 have been read (60 s in: every rule's first runs and
the alerts they raise are behind); the rules' own cycle (time between a rule's two runs,
``DetectionRule.last_cycle_ms``, of every rule that ran in a cycle) p95, over all cycles and the steady ones;
runs, errors and timeouts; events the collectors had stored; and, per cycle, its run time by rule kind and its
three dearest rules. On 2 shared cores the generator, uvicorn, Elasticsearch,
PostgreSQL and the detection threads all compete: that is the point of measuring them together.

    .venv/bin/python bench/detection_load_bench.py [--short] [--collectors 680] [--seconds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SOC_ES_PREFIX", "bench-detload-")

from bench import harness, load_bench  # noqa: E402
from bench.common import machine, p, report, short_mode  # noqa: E402
from bench.run_history_bench import _store_events  # noqa: E402  (it names its own database: ours is set below)

harness.DATABASE = "soc_bench_detload"
CORPUS = Path(os.environ.get("SOC_CORPUS") or ROOT.parent / "shared" / "corpus")
RULE_FOLDERS = ["rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"]
TARGET_S = 10.0
TICK_S = 5.0  # beat's detection tick (SOC_DETECTION_INTERVAL_SECONDS)
STEADY_AFTER_S = 60.0  # the stored 20,000 events are read (every rule's first runs) by then


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="90 s of load (also SOC_BENCH_SHORT=1)")
    parser.add_argument("--collectors", type=int, default=680,
                        help="simulated collectors (the baseline's 680; 0: the cycle without load)")
    parser.add_argument("--seconds", type=float, default=None, help="length of the load (default 300, short 90)")
    parser.add_argument("--threads", type=int, default=4, help="batches run at once (worker processes)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for the ingest")
    parser.add_argument("--windows-share", type=float, default=0.0,
                        help="share of the shipped events that are Sysmon process events (default 0: the baseline)")
    args = parser.parse_args()
    args.short = args.short or short_mode()
    args.seconds = args.seconds or (90.0 if args.short else 300.0)
    return args


def main() -> None:
    args = options()
    harness.django_setup()
    rules = _enable_rules()
    _store_events(20_000)
    sims = load_bench.make_collectors("detload")[: args.collectors]
    docs = _load_docs(args.windows_share)
    with tempfile.TemporaryDirectory() as work:
        procs = harness.Processes(Path(work) / "logs")
        try:
            port = harness.free_port()
            load_bench.web(procs, port, args.workers, {"SOC_INGEST_RATE_PER_PROVINCE": str(load_bench.QUOTA)})
            figures = _under_load(f"http://127.0.0.1:{port}", sims, docs, args)
        finally:
            procs.stop()
    stored = load_bench.searchable(load_bench.ours_pattern())
    report("detection_load_bench", {"rules_enabled": rules, "collectors": len(sims), "load_s": args.seconds,
                                    "offered_events_per_s": round(sum(s.rate for s in sims)),
                                    "windows_share": args.windows_share,
                                    "events_searchable_after": stored, "threads": args.threads, **figures,
                                    **machine()},
           target=f"cycle p95 <= {TARGET_S:.0f} s with ~3,000 rules while the collectors ship")


def _load_docs(windows_share: float) -> list[dict[str, Any]]:
    """The baseline's documents, and Sysmon process events making up ``windows_share`` of them."""
    import random
    from datetime import UTC, datetime

    from bench.detection_throughput_bench import synthetic

    docs = load_bench.templates()
    if windows_share <= 0:
        return docs
    rng, now = random.Random(11), datetime.now(UTC)
    count = round(len(docs) * windows_share / (1 - windows_share))
    windows = [synthetic(n * 10, now, rng) for n in range(count)]  # n * 10: the Sysmon kind of ``synthetic``
    for doc in windows:
        doc.pop("organization")  # the server writes it from the collector's credential
    return docs + windows


def _enable_rules() -> int:
    from detection.authoring import sigma_folder_import
    from detection.models import Alert, DetectionRule
    from detection.starter import starter_rules_load
    from organisations.actors import Actor
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    Alert.objects.all().delete()
    DetectionRule.objects.all().delete()
    began = time.monotonic()
    for folder in RULE_FOLDERS:
        sigma_folder_import(folder=CORPUS / "sigma" / folder, actor=Actor.system(), enabled=True)
    starter_rules_load(actor=Actor.system())
    DetectionRule.objects.update(enabled=True, interval_seconds=5)
    count = DetectionRule.objects.count()
    if count < 2000:
        raise SystemExit(f"only {count} rules: is the corpus at {CORPUS}? (SOC_CORPUS)")
    print(f"{count} rules enabled in {time.monotonic() - began:.0f} s", flush=True)
    return count


def _load(base: str, sims: list[load_bench.Sim], docs: list[dict[str, Any]], seconds: float,
          period: float, out: Any) -> None:
    """The collectors, in their own process (they would otherwise share this one's interpreter lock)."""
    tally, wall = asyncio.run(load_bench.phase(base, sims, seconds, docs, period))
    lags = [lag for values in tally.lags.values() for lag in values]
    out.put({"stored_events_per_s": round(tally.counts["created"] / seconds),
             "ingest_lag_p95_ms": round(p(lags, 95) * 1000) if lags else None,
             "transport_errors": tally.counts["transport_error"], "load_wall_s": round(wall, 1)})


def _under_load(base: str, sims: list[load_bench.Sim], docs: list[dict[str, Any]],
                args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()  # the load process is forked: it must not share this process's connections
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    load = context.Process(target=_load, args=(base, sims, docs, args.seconds, 1.0, out))
    load.start()
    time.sleep(10 if sims else 0)  # the collectors' first batches are in: detection starts under load
    cycles, runs, errors, timeouts, rule_cycles = _cycles_for(args.seconds, args.threads)
    load.join()
    ingest = out.get(timeout=60)
    steady = [seconds for began, seconds in cycles if began >= STEADY_AFTER_S]
    rules_all = [seconds for _, seconds in rule_cycles]
    rules_steady = [seconds for began, seconds in rule_cycles if began >= STEADY_AFTER_S]
    walls = [seconds for _, seconds in cycles]
    return {"cycles": len(cycles), "cycle_p50_s": round(p(walls, 50), 2), "cycle_p95_s": round(p(walls, 95), 2),
            "cycle_max_s": round(max(walls), 2), "cycle_p95_vs_target": round(p(walls, 95) / TARGET_S, 2),
            "steady_cycles": len(steady), "steady_cycle_p50_s": round(p(steady, 50), 2) if steady else None,
            "steady_cycle_p95_s": round(p(steady, 95), 2) if steady else None,
            "steady_cycle_max_s": round(max(steady), 2) if steady else None,
            "rule_cycle_p95_s": round(p(rules_all, 95), 2) if rules_all else None,
            "steady_rule_cycle_p95_s": round(p(rules_steady, 95), 2) if rules_steady else None,
            "rule_runs": runs, "run_errors": errors, "run_timeouts": timeouts, **ingest}


def _cycles_for(seconds: float, threads: int) -> tuple[list[tuple[float, float]], int, int, int,
                                                       list[tuple[float, float]]]:
    """Cycles on beat's tick until ``seconds`` have passed (the load lasts as long): (start, wall time) each,
    and (its cycle's start, time since its previous run) of each rule run."""
    from django.db import connection
    from django.utils import timezone

    from detection.models import DetectionRule
    from detection.services import due_batches, rules_run

    def run(batch: list[int], tick: Any) -> list[Any]:
        try:
            return rules_run(rule_ids=batch, tick=tick)
        finally:
            connection.close()

    cycles: list[tuple[float, float]] = []
    runs = errors = timeouts = 0
    rule_cycles: list[tuple[float, float]] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        first = tick = time.monotonic()
        until = first + seconds
        while time.monotonic() < until:
            time.sleep(max(0.0, tick - time.monotonic()))
            began, since = time.monotonic(), timezone.now()
            tick = began + TICK_S
            batches = due_batches(now=since)
            if not batches:
                continue
            done = [r for result in pool.map(run, batches, [since] * len(batches)) for r in result]
            cycles.append((began - first, time.monotonic() - began))
            runs, errors = runs + len(done), errors + sum(bool(r.error) for r in done)
            timeouts += sum(r.timed_out for r in done)
            ran = list(DetectionRule.objects.filter(last_run_at__gte=since)
                       .values_list("kind", "name", "last_duration_ms", "last_cycle_ms"))
            rule_cycles += [(began - first, ms / 1000) for *_, ms in ran if ms is not None]
            print(f"cycle {len(cycles)} at {began - first:.0f} s: {len(done)} runs in {cycles[-1][1]:.1f} s; "
                  f"{_where_it_went(ran)}", flush=True)
    return cycles, runs, errors, timeouts, rule_cycles


def _where_it_went(ran: list[tuple[str, str, int, int | None]]) -> str:
    """The cycle's run time by rule kind and its three dearest rules: what to look at when cycles grow."""
    kinds: dict[str, int] = {}
    for kind, _, ms, _ in ran:
        kinds[kind] = kinds.get(kind, 0) + ms
    dearest = sorted(ran, key=lambda row: -row[2])[:3]
    return (" ".join(f"{kind} {ms / 1000:.1f} s" for kind, ms in sorted(kinds.items(), key=lambda kv: -kv[1]))
            + "; dearest: " + ", ".join(f"{name[:40]} {ms} ms" for _, name, ms, _ in dearest))


if __name__ == "__main__":
    main()
