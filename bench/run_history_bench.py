"""Rule-run history written per minute: the SigmaHQ Windows rules and the starter pack, enabled, every 5 s.

On its own database (``soc_bench_history``, or ``soc_bench_history_base`` for ``--baseline``) and indices, it
enables SigmaHQ's rules/windows from the corpus plus the starter pack, stores 20,000 recent synthetic events
(Sysmon, sshd, web: the detection throughput bench's mix) so some rules find something, then runs detection
cycles as the worker does (every enabled rule, batches of 50, one ``_msearch`` per batch), each cycle 5 s after
the one before on the rules' clock. The rows written to the run tables are read from PostgreSQL's own counters
(``pg_stat_user_tables``: inserted, updated), whatever code wrote them; per minute = per cycle x 12.

``--baseline DIR`` runs the same measurement in another checkout (e.g. the commit before quiet runs were
folded) and prints both side by side.

    .venv/bin/python bench/run_history_bench.py [--short] [--baseline /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The checkout measured: this one, or the --baseline one (the bench runs its own copy from there, cwd=it).
ROOT = Path(os.environ.get("SOC_BENCH_CHECKOUT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SOC_ES_PREFIX", "bench-history-")

from bench import harness  # noqa: E402
from bench.common import machine, p, report  # noqa: E402

harness.DATABASE = os.environ.get("SOC_BENCH_DATABASE", "soc_bench_history")
CORPUS = Path(os.environ.get("SOC_CORPUS") or ROOT.parent / "shared" / "corpus")
SIGMA_WINDOWS = CORPUS / "sigma" / "rules" / "windows"
BATCH = 50
CYCLES_PER_MINUTE = 12  # the rules' 5 s interval
TABLES = ("detection_rulerun", "detection_rulerunday", "detection_detectionrule")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="200 rules, 3 cycles")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured the same way")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the baseline's answer
    args = parser.parse_args()
    ours = measure(short=args.short)
    if args.json:
        print("FIGURES " + json.dumps(ours))
        return
    figures = {f"ours_{k}": v for k, v in ours.items()}
    if args.baseline:
        figures |= {f"baseline_{k}": v for k, v in baseline(args.baseline, short=args.short).items()}
        figures["rulerun_rows_per_min_ratio"] = round(
            figures["ours_rulerun_rows_per_min"] / max(figures["baseline_rulerun_rows_per_min"], 1), 4)
    report("run_history_bench", figures | machine(), target="quiet runs write no RuleRun row")


def baseline(checkout: Path, *, short: bool) -> dict[str, Any]:
    env = {**os.environ, "SOC_BENCH_CHECKOUT": str(checkout.resolve()), "SOC_BENCH_DATABASE": "soc_bench_history_base"}
    command = [sys.executable, str(Path(__file__).resolve()), "--json", *(["--short"] if short else [])]
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("FIGURES ")), None)
    if done.returncode or line is None:
        raise SystemExit(f"baseline failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return dict(json.loads(line[len("FIGURES "):]))


def measure(*, short: bool) -> dict[str, Any]:
    harness.django_setup()
    ids = _enable_rules(limit=200 if short else None)
    if len(ids) < (200 if short else 2000):
        raise SystemExit(f"only {len(ids)} rules enabled: is the corpus at {CORPUS}? (SOC_CORPUS)")
    _store_events(20_000)
    cycles = 3 if short else 4
    began = _table_counters()
    durations = _run_cycles(ids, cycles)
    ended = _table_counters()
    written = {table: ended[table] - began[table] for table in TABLES}
    runs = len(ids) * cycles
    return {
        "rules": len(ids), "cycles": cycles, "runs": runs,
        "rulerun_rows_per_cycle": round(written["detection_rulerun"] / cycles, 1),
        "rulerun_rows_per_min": round(written["detection_rulerun"] / cycles * CYCLES_PER_MINUTE),
        "rulerunday_rows_per_min": round(written["detection_rulerunday"] / cycles * CYCLES_PER_MINUTE),
        "rule_row_updates_per_min": round(written["detection_detectionrule"] / cycles * CYCLES_PER_MINUTE),
        "kept_runs_pct": round(100 * written["detection_rulerun"] / max(runs, 1), 1),
        "cycle_p50_s": round(p(durations, 50), 2), "cycle_max_s": round(max(durations), 2),
    }


def _enable_rules(*, limit: int | None) -> list[int]:
    from detection.authoring import sigma_folder_import
    from detection.models import Alert, DetectionRule
    from detection.starter import starter_rules_load
    from organisations.actors import Actor
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    Alert.objects.all().delete()
    DetectionRule.objects.all().delete()
    actor = Actor.system()
    sigma_folder_import(folder=SIGMA_WINDOWS, actor=actor, enabled=True)
    starter_rules_load(actor=actor)
    ids = list(DetectionRule.objects.order_by("pk").values_list("pk", flat=True))[:limit]
    DetectionRule.objects.filter(pk__in=ids).update(enabled=True, interval_seconds=5)
    DetectionRule.objects.exclude(pk__in=ids).update(enabled=False)
    return ids


def _store_events(count: int) -> None:
    import random

    from elasticsearch.helpers import bulk

    from bench.detection_throughput_bench import synthetic
    from soc import es

    client = es.client().options(request_timeout=120)
    client.indices.delete(index=f"{os.environ['SOC_ES_PREFIX']}*", ignore_unavailable=True, allow_no_indices=True,
                          expand_wildcards="all")
    es.ensure_templates()
    now, rng = datetime.now(UTC), random.Random(7)
    index = es.index_name("events", now)
    docs = [synthetic(n, now - timedelta(seconds=rng.uniform(5, 240)), rng) for n in range(count)]
    for doc in docs:
        doc.setdefault("event", {})["ingested"] = now.isoformat()
    bulk(client, ({"_op_type": "create", "_index": index, "_id": f"h{n}", "_source": doc}
                  for n, doc in enumerate(docs)), chunk_size=5000)
    client.indices.refresh(index=index)


def _run_cycles(ids: list[int], cycles: int) -> list[float]:
    from detection.services import rules_run

    start, durations = datetime.now(UTC), []
    for n in range(cycles):
        began = time.monotonic()
        for first in range(0, len(ids), BATCH):
            rules_run(rule_ids=ids[first:first + BATCH], now=start + timedelta(seconds=5 * n))
        durations.append(time.monotonic() - began)
    return durations


def _table_counters() -> dict[str, int]:
    """Rows inserted + updated per table since the server started, as PostgreSQL counts them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's counts, not a second later
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                       [list(TABLES)])
        return {name: int(count) for name, count in cursor.fetchall()}


if __name__ == "__main__":
    main()
