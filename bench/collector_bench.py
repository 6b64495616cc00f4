"""Collector alone: events/s per core reading, parsing to ECS and spooling sshd and nginx lines; peak RSS.

The measured path is the agent's own read cycle (``Agent.read_files_once``:
tail → parse → spool append → fsync → offsets), in a fresh process so the
peak RSS is the agent's. Nothing is sent (the central URL is unreachable and
the sender thread is not started). Targets: ≥ 10,000 events/s per core, ≤ 60 MB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULT_PREFIX, cli, peak_rss_mb, report, short_mode  # noqa: E402

LINES = 20_000 if short_mode() else 200_000
CORPUS = ROOT.parent / "shared" / "corpus" / "loghub" / "OpenSSH" / "OpenSSH_2k.log"


def sshd_lines() -> list[str]:
    if CORPUS.exists():
        return [line for line in CORPUS.read_text(errors="replace").splitlines() if line.strip()]
    return [f"Nov 28 08:15:{n % 60:02d} hni-web-01 sshd[{n}]: Failed password for root from 203.0.113.{n % 250} "
            f"port {40000 + n} ssh2" for n in range(2000)]


def nginx_lines() -> list[str]:
    return [f'198.51.100.{n % 250} - - [28/Nov/2026:08:15:{n % 60:02d} +0700] "GET /api/items/{n}?q=x HTTP/1.1" '
            f'{200 if n % 7 else 404} {512 + n} "-" "Mozilla/5.0 (X11; Linux x86_64) bench/{n % 13}"'
            for n in range(2000)]


def child(workdir: Path) -> None:
    from collectors.agent.config import AgentConfig
    from collectors.agent.runner import Agent

    (workdir / "secret").write_text("unused")
    inputs = [{"type": "file", "name": "sshd", "paths": [str(workdir / "auth.log")]},
              {"type": "file", "name": "nginx", "paths": [str(workdir / "access.log")], "source": "web_access"}]
    agent = Agent(AgentConfig(url="http://127.0.0.1:9/api/v1", secret_file=str(workdir / "secret"),
                              state_dir=str(workdir / "state"), batch_size=1000,
                              spool_max_bytes=4 * 1024 * 1024 * 1024, inputs=inputs))
    start, cpu0 = time.monotonic(), _cpu()
    read = 0
    while read < LINES:
        got = agent.read_files_once()
        if not got:
            break
        read += got
    wall, cpu = time.monotonic() - start, _cpu() - cpu0
    print(RESULT_PREFIX + json.dumps({"read": read, "wall": wall, "cpu": cpu, "rss": peak_rss_mb(),
                                      "spool_bytes": agent.spool.size()}))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    cli(__doc__, short="20,000 lines instead of 200,000").parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, lines in (("auth.log", sshd_lines()), ("access.log", nginx_lines())):
            with open(workdir / name, "w") as fh:
                for n in range(LINES // 2):
                    fh.write(lines[n % len(lines)] + "\n")
        proc = subprocess.run([sys.executable, __file__, "--child", tmp], cwd=ROOT, capture_output=True, text=True,
                              check=True)
        [line] = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
        result = json.loads(line[len(RESULT_PREFIX):])
    report("collector: parse + spool (sshd, nginx)", {
        "events": result["read"], "events_per_s": round(result["read"] / result["wall"]),
        "events_per_cpu_s": round(result["read"] / result["cpu"]), "peak_rss_mb": result["rss"],
        "spool_bytes_per_event": round(result["spool_bytes"] / max(1, result["read"])),
    }, target=">= 10000 events/s per core, <= 60 MB RSS")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]))
    else:
        main()
