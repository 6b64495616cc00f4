"""What every benchmark shares: how it reports, so `make bench` can print one table.

A benchmark prints whatever it likes, then calls ``report`` once per figure
set; ``bench/run_all.py`` collects the ``RESULT`` lines of every script.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
from typing import Any

RESULT_PREFIX = "RESULT "


def short_mode() -> bool:
    """``--short`` on the command line, or ``SOC_BENCH_SHORT=1`` (what ``make bench``'s quick run sets).

    Read from ``sys.argv`` directly so that a script's sizes can be chosen where they are declared; ``cli``
    validates the command line and answers ``--help``."""
    return "--short" in sys.argv[1:] or os.environ.get("SOC_BENCH_SHORT") == "1"


def cli(doc: str | None, *, short: str) -> argparse.ArgumentParser:
    """The parser every benchmark starts from: its docstring as ``--help``, and ``--short`` (``short`` says what
    the quick run does). Add the script's own options, then ``parse_args()``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", default=short_mode(),
                        help=f"a quick run: {short} (also SOC_BENCH_SHORT=1)")
    return parser


def report(name: str, figures: dict[str, Any], *, target: str = "") -> None:
    print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()) + (f"  (target {target})" if target else ""))
    print(RESULT_PREFIX + json.dumps({"name": name, "figures": figures, "target": target}), flush=True)


def p(values: list[float], q: float) -> float:
    """Percentile q (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(p(ms, 50), 2), "p95_ms": round(p(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0}


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict[str, Any]:
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    return {"cpus": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform()}
