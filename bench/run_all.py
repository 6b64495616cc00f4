"""`make bench`: run every benchmark in bench/, print one table, keep the figures.

Each ``bench/*_bench.py`` runs as its own process (so one crash or leak does
not colour the next) and reports through ``bench.common.report``. Results go
to bench/results/<date>.json with the machine's description and load average,
rewritten after every script. Arguments name the scripts to run (``load_bench
users_bench``); SOC_BENCH_SHORT=1 selects the short mode of the scripts that
have one (load_bench, users_bench); SOC_BENCH_TIMEOUT bounds each script. ``peer_rsyslog_bench`` needs the
Debian packages rsyslog and rsyslog-elasticsearch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULT_PREFIX, cli, machine  # noqa: E402


def run(script: Path, timeout: float) -> tuple[list[dict[str, Any]], str]:
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f}s"
    results = [json.loads(line[len(RESULT_PREFIX):]) for line in proc.stdout.splitlines()
               if line.startswith(RESULT_PREFIX)]
    status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    print(f"# {script.name}: {status} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return results, status


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| benchmark | figures | target |", "|---|---|---|"]
    for row in rows:
        figures = ", ".join(f"{k} = {v}" for k, v in row["figures"].items())
        lines.append(f"| {row['name']} | {figures} | {row.get('target', '')} |")
    return "\n".join(lines)


def save(out: Path, rows: list[dict[str, Any]], failures: dict[str, str], pending: list[str]) -> None:
    """Written after every script, so an interrupted run keeps what it measured."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "load_average": os.getloadavg(), "results": rows,
                               "failures": failures, "not_run": pending}, indent=2))


def main() -> int:
    parser = cli(__doc__, short="every script in its short mode (sets SOC_BENCH_SHORT=1 for them)")
    parser.add_argument("scripts", nargs="*", help="the scripts to run, by name (load_bench users_bench); default all")
    args = parser.parse_args()
    if args.short:
        os.environ["SOC_BENCH_SHORT"] = "1"  # the scripts inherit it
    only = set(args.scripts)
    scripts = sorted(p for p in (ROOT / "bench").glob("*_bench.py") if not only or p.stem in only)
    rows: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    # A run of some benchmarks only is saved beside the day's full run, never over it.
    suffix = "".join(f"-{name}" for name in sorted(only))
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}{suffix}.json"
    for n, script in enumerate(scripts):
        results, status = run(script, timeout=float(os.environ.get("SOC_BENCH_TIMEOUT", "1800")))
        rows += results
        if status != "ok":
            failures[script.name] = status
        save(out, rows, failures, [s.name for s in scripts[n + 1:]])
    print(table(rows))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    for name, status in failures.items():
        print(f"FAILED {name}: {status}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
