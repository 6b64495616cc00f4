"""What every benchmark shares: how it reports, so `make bench` can print one table.

A benchmark prints whatever it likes, then calls ``report`` once per figure
set; ``bench/run_all.py`` collects the ``RESULT`` lines of every script.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from typing import Any

RESULT_PREFIX = "RESULT "


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
