"""`make bench`: run every benchmark in bench/, print one table, keep the figures.

Each ``bench/*_bench.py`` runs as its own process (so one crash or leak does
not colour the next) and reports through ``bench.common.report``. Results go
to bench/results/<date>.json with the machine's description.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULT_PREFIX, machine  # noqa: E402


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


def main() -> int:
    only = set(sys.argv[1:])
    scripts = sorted(p for p in (ROOT / "bench").glob("*_bench.py") if not only or p.stem in only)
    rows: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for script in scripts:
        results, status = run(script, timeout=1800)
        rows += results
        if status != "ok":
            failures[script.name] = status
    print(table(rows))
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps({"machine": machine(), "results": rows, "failures": failures}, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    for name, status in failures.items():
        print(f"FAILED {name}: {status}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
