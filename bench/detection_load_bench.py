"""Detection cycle with ~3,000 rules enabled while collectors ship: the issue's "≤ 10 s" figure.

On its own database (``soc_bench_detload``) and indices (``bench-detload-*``):

1. enables the SigmaHQ Windows rules of the corpus (``rules/windows``, ``rules-threat-hunting/windows``) and
   ``rules-emerging-threats`` (every level and status) plus the starter pack, at a 5 s interval: ~3,000 rules;
2. stores 20,000 recent synthetic events (Sysmon, sshd, web: the detection throughput bench's mix), so the
   Windows rules search real documents;
3. starts the real ingest (uvicorn, ``--workers``) and, in a separate process, ``bench/load_bench.py``'s
   simulated collectors (the agent's wire behaviour: gzip batches every second, heartbeats every 5 s) at
   ``--collectors`` of the 680 of its baseline (34 provinces x 20), for ``--seconds``;
4. meanwhile runs detection cycles exactly as the workers do (due rules, batches of 50, one ``_msearch`` each,
   ``--threads`` batches at once as that many worker processes would), one after another.

Reported: each cycle's wall time (all due rules run once) p50/p95/max and its ratio to the 10 s target; the
rules' own cycle (time between a rule's two latest runs, ``DetectionRule.last_cycle_ms``) p95; runs, errors
and timeouts; events the collectors had stored. On 2 shared cores the generator, uvicorn, Elasticsearch,
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
BATCH = 50
TARGET_S = 10.0


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="90 s of load (also SOC_BENCH_SHORT=1)")
    parser.add_argument("--collectors", type=int, default=680,
                        help="simulated collectors (the baseline's 680; 0: the cycle without load)")
    parser.add_argument("--seconds", type=float, default=None, help="length of the load (default 300, short 90)")
    parser.add_argument("--threads", type=int, default=4, help="batches run at once (worker processes)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for the ingest")
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
    docs = load_bench.templates()
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
                                    "events_searchable_after": stored, "threads": args.threads, **figures,
                                    **machine()},
           target=f"cycle p95 <= {TARGET_S:.0f} s with ~3,000 rules while the collectors ship")


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
    return {"cycles": len(cycles), "cycle_p50_s": round(p(cycles, 50), 2), "cycle_p95_s": round(p(cycles, 95), 2),
            "cycle_max_s": round(max(cycles), 2), "cycle_p95_vs_target": round(p(cycles, 95) / TARGET_S, 2),
            "rule_cycle_p95_s": round(p(rule_cycles, 95), 2) if rule_cycles else None,
            "rule_runs": runs, "run_errors": errors, "run_timeouts": timeouts, **ingest}


def _cycles_for(seconds: float, threads: int) -> tuple[list[float], int, int, int, list[float]]:
    """Cycles one after another until ``seconds`` have passed (the load lasts as long)."""
    from django.db import connection
    from django.utils import timezone

    from detection.models import DetectionRule
    from detection.services import due_rule_ids, rules_run

    def run(batch: list[int]) -> list[Any]:
        try:
            return rules_run(rule_ids=batch)
        finally:
            connection.close()

    cycles: list[float] = []
    runs = errors = timeouts = 0
    rule_cycles: list[float] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            began = time.monotonic()
            ids = due_rule_ids(now=timezone.now())
            done = [r for result in pool.map(run, [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)])
                    for r in result]
            cycles.append(time.monotonic() - began)
            runs, errors = runs + len(done), errors + sum(bool(r.error) for r in done)
            timeouts += sum(r.timed_out for r in done)
            rule_cycles += [ms / 1000 for ms in DetectionRule.objects.values_list("last_cycle_ms", flat=True)
                            if ms is not None]
            print(f"cycle {len(cycles)}: {len(done)} runs in {cycles[-1]:.1f} s", flush=True)
    return cycles, runs, errors, timeouts, rule_cycles


if __name__ == "__main__":
    main()
