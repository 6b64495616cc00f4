"""CPU and memory of processes from /proc: a process with its descendants, or the Elasticsearch node.

CPU is counted in seconds (user + system) so two samples give the share of a core over a phase;
memory is the resident set (VmRSS) summed over the tree.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    cpu_seconds: float
    rss_mb: float


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of one process; None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree(root: int) -> list[int]:
    """``root`` and every descendant alive now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def sample(pids: list[int]) -> Sample:
    cpu = sum(s[1] for pid in pids if (s := _stat(pid)) is not None)
    return Sample(round(cpu, 2), round(sum(_rss_mb(pid) for pid in pids), 1))


def listening_pid(port: int) -> int | None:
    """The process listening on this TCP port (the Elasticsearch node a benchmark talks to), if visible.

    By port, not by command line: several nodes may run on one machine (other checkouts' on other ports).
    """
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        return None
    found = re.search(r"pid=(\d+)", out)
    return int(found.group(1)) if found else None
