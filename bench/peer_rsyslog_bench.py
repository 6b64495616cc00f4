"""Peer: our collector against rsyslog + omelasticsearch shipping the same file to the same node, one run.

Both read the same N sshd lines, in ``ROUNDS`` alternating rounds (a new file
appears in the glob each one tails; both already running) so that both see
the same machine load, and are timed from the file's appearance to "all of
it searchable" (refresh + count, the same check for both), into indices
under the same events template. rsyslog runs in the foreground from its own
configuration (imfile input, its own -i pidfile and work directory, no
sockets): never the system syslog. The peer does less per line than we do:
it ships the line as it is (message, time, host) with no parsing to ECS, no
spool confirmed per event and no deterministic ids (a resend duplicates).
Figures: events/s of each and ours ÷ rsyslog's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cli, report
from bench.harness import ROOT, Processes, bench_env, django_setup, free_port, wait_http
from bench.ingest_bench import LINES, ROUNDS, WEB_WORKERS, collector_secret, line, wait_searchable

# What rsyslog makes of each line: here three fields of the raw line. ``bench/load_bench.py`` has it ship lines
# that are already ECS documents as they are (the same documents our ingest stores).
RAW_FIELDS = """template(name="doc" type="list" option.jsonf="on") {
  property(outname="@timestamp" name="timegenerated" dateFormat="rfc3339" format="jsonf")
  property(outname="host.name" name="$myhostname" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
}"""
LINE_AS_DOCUMENT = 'template(name="doc" type="string" string="%msg%")'

RSYSLOG_CONF = """
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imfile" mode="inotify")
module(load="omelasticsearch")
{document}
input(type="imfile" File="{path}" Tag="auth" freshStartTail="off" ruleset="ship")
ruleset(name="ship" queue.type="linkedList" queue.size="{queue}" queue.dequeueBatchSize="1000"
        queue.workerThreads="4") {{
  action(type="omelasticsearch" server="127.0.0.1" serverport="{port}" template="doc" searchIndex="{index}"
         bulkmode="on" maxbytes="4m" esVersion.major="8" action.resumeRetryCount="-1")
}}
"""


def start_rsyslog(tmp: Path, pattern: Path, index: str, es_port: int, *, document: str = RAW_FIELDS,
                  queue: int = LINES * 2) -> subprocess.Popen[bytes]:
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.access(rsyslogd, os.X_OK):
        raise SystemExit("rsyslogd not found: apt-get install -y rsyslog rsyslog-elasticsearch")
    (tmp / "rsyslog-work").mkdir()
    conf = tmp / "rsyslog.conf"
    conf.write_text(RSYSLOG_CONF.format(work=tmp / "rsyslog-work", path=pattern, queue=queue, port=es_port,
                                        index=index, document=document))
    checked = subprocess.run([rsyslogd, "-N1", "-f", str(conf)], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise SystemExit(f"rsyslog refused its configuration: {checked.stderr[-500:]}")
    return subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", str(tmp / "rsyslog.pid")],
                            stdout=subprocess.DEVNULL, stderr=(tmp / "rsyslog.log").open("w"))


def start_agent(port: int, tmp: Path, pattern: Path) -> subprocess.Popen[bytes]:
    (tmp / "secret").write_text(collector_secret())
    return subprocess.Popen([sys.executable, "-m", "collectors.agent", "run", "--url",
                             f"http://127.0.0.1:{port}/api/v1", "--secret-file", str(tmp / "secret"),
                             "--path", str(pattern), "--state-dir", str(tmp / "agent-state"), "--batch", "1000",
                             "--senders", "4", "--poll", "0.05"], cwd=ROOT, env=bench_env(),
                            stdout=subprocess.DEVNULL, stderr=(tmp / "agent.log").open("w"))


def shipped(es: Any, content: str, folder: Path, n: int, index: str, expected: int) -> float:
    """This round's file appears in ``folder``; seconds until ``expected`` events are searchable in ``index``."""
    staged = folder.parent / f"staged-{folder.name}-{n}"
    staged.write_text(content)
    start = time.monotonic()
    os.rename(staged, folder / f"round-{n}.log")
    wait_searchable(es, index, expected)
    return time.monotonic() - start


def alternating(es: Any, tmp: Path, ours_index: str, peer_index: str) -> tuple[float, float]:
    ours = peer = 0.0
    per_round = LINES // ROUNDS
    for n in range(ROUNDS):
        content = "".join(line(n * per_round + k, user=f"round{n}") for k in range(per_round))
        ours += shipped(es, content, tmp / "ours", n, ours_index, (n + 1) * per_round)
        peer += shipped(es, content, tmp / "peer", n, peer_index, (n + 1) * per_round)
    return ours, peer


def main() -> None:
    cli(__doc__, short="20,000 lines instead of 100,000").parse_args()
    os.environ["SOC_ES_PREFIX"] = "bench-peer-"
    django_setup()
    from django.conf import settings

    from soc import es as soc_es

    es = soc_es.client()
    prefix = settings.ES_INDEX_PREFIX
    es.indices.delete(index=f"{prefix}events-*", ignore_unavailable=True, allow_no_indices=True)
    es_port = int(settings.ELASTICSEARCH_URL.split(",")[0].rstrip("/").rsplit(":", 1)[1])
    port = free_port()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "ours").mkdir()
        (tmp / "peer").mkdir()
        procs = Processes(tmp / "logs")
        procs.spawn("web", "-m", "uvicorn", "soc.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning", "--no-access-log", "--workers", WEB_WORKERS,
                    env={**bench_env(), "SOC_INGEST_RATE_PER_COLLECTOR": "0", "SOC_INGEST_RATE_PER_PROVINCE": "0"})
        wait_http(f"http://127.0.0.1:{port}/login/")
        peer_index = f"{prefix}events-rsyslog-{datetime.now():%Y.%m.%d}"
        runners = [start_agent(port, tmp, tmp / "ours" / "round-*.log"),
                   start_rsyslog(tmp, tmp / "peer" / "round-*.log", peer_index, es_port)]
        try:
            ours, peer = alternating(es, tmp, f"{prefix}events-2*", peer_index)
        finally:
            for proc in runners:
                proc.terminate()
                proc.wait(timeout=30)
            procs.stop()
    report("peer: our collector vs rsyslog omelasticsearch, same file, same node", {
        "events": LINES, "ours_events_per_s": round(LINES / ours), "rsyslog_events_per_s": round(LINES / peer),
        "ours_over_rsyslog": round(peer / ours, 2), "rounds": ROUNDS, "load_1min": round(os.getloadavg()[0], 1),
    }, target="report (rsyslog ships raw lines, no ECS parsing)")


if __name__ == "__main__":
    main()
