"""End to end: collector → ingest API → searchable in Elasticsearch, against a direct bulk of the same docs.

One run, one node, in ``ROUNDS`` alternating rounds so that both sides see the
same machine load (on a shared box it drifts by 2-5x within a minute):
(1) a running agent ships N/ROUNDS new sshd lines (a new file appears in the
glob it tails) through uvicorn into Elasticsearch, timed from the file's
appearance until all of them are searchable; (2) the very same stored
documents are bulk-indexed straight into the same node with
``elasticsearch.helpers.bulk``, timed until searchable. Rate = N ÷ summed
time per side; ratio = (1) ÷ (2), target ≥ 0.8. (3) Lag: lines appended at a
steady pace, each timed from its write to the first search that finds it;
p50/p95. ``agent_phase`` (one file, agent started cold) is what the peer
benchmark uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cli, p, report, short_mode
from bench.harness import ROOT, Processes, bench_env, django_setup, free_port, wait_http

LINES = 20_000 if short_mode() else 100_000
ROUNDS = 4
# Async ingest views: a worker per core (2 here) keeps both busy; more only add switching.
WEB_WORKERS = os.environ.get("SOC_BENCH_WEB_WORKERS", "2")
LAG_SECONDS, LAG_PER_SECOND = 10, 400


def line(n: int, user: str = "root") -> str:
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%b %e %H:%M:%S")
    return f"{now} hni-web-01 sshd[{n % 30000}]: Failed password for {user} from 203.0.113.{n % 250} port {n} ssh2\n"


def collector_secret() -> str:
    from collectors.services import collector_create
    from organisations.models import Organisation
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    _, secret = collector_create(organisation=Organisation.objects.get(code="HNI"), name=f"bench-{time.time_ns()}")
    return secret


def searchable(es: Any, index: str, query: dict[str, Any] | None = None) -> int:
    es.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
    return int(es.count(index=index, allow_no_indices=True, ignore_unavailable=True,
                        query=query or {"match_all": {}})["count"])


def wait_searchable(es: Any, index: str, expected: int, timeout: float = 900) -> float:
    start = time.monotonic()
    while searchable(es, index) < expected:
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"only {searchable(es, index)} of {expected} searchable after {timeout}s")
        time.sleep(0.2)
    return time.monotonic() - start


def agent_phase(es: Any, events: str, port: int, tmp: Path, secret: str) -> tuple[float, subprocess.Popen[str]]:
    (tmp / "secret").write_text(secret)
    with open(tmp / "auth.log", "w") as fh:
        fh.writelines(line(n) for n in range(LINES))
    start = time.monotonic()
    agent = subprocess.Popen([sys.executable, "-m", "collectors.agent", "run", "--url",
                              f"http://127.0.0.1:{port}/api/v1", "--secret-file", str(tmp / "secret"),
                              "--path", str(tmp / "*.log"), "--state-dir", str(tmp / "state"), "--batch", "1000",
                              "--senders", "4", "--poll", "0.05"], cwd=ROOT, env=bench_env(), stdout=subprocess.DEVNULL,
                             stderr=(tmp / "agent.log").open("w"), text=True)
    wait_searchable(es, events, LINES)
    return time.monotonic() - start, agent


def start_agent(port: int, tmp: Path, secret: str) -> subprocess.Popen[str]:
    (tmp / "secret").write_text(secret)
    return subprocess.Popen([sys.executable, "-m", "collectors.agent", "run", "--url",
                             f"http://127.0.0.1:{port}/api/v1", "--secret-file", str(tmp / "secret"),
                             "--path", str(tmp / "round-*.log"), "--path", str(tmp / "lag.log"),
                             "--state-dir", str(tmp / "rounds-state"),
                             "--batch", "1000", "--senders", "4", "--poll", "0.05"], cwd=ROOT, env=bench_env(),
                            stdout=subprocess.DEVNULL, stderr=(tmp / "agent-rounds.log").open("w"), text=True)


def agent_round(es: Any, events: str, tmp: Path, n: int, already: int) -> float:
    """A new file of this round's lines appears in the agent's glob; seconds until all are searchable."""
    count = LINES // ROUNDS
    staged = tmp / f"staged-{n}"
    with open(staged, "w") as fh:
        fh.writelines(line(already + k, user=f"round{n}") for k in range(count))
    start = time.monotonic()
    os.rename(staged, tmp / f"round-{n}.log")
    wait_searchable(es, events, already + count)
    return time.monotonic() - start


def direct_round(es: Any, events: str, direct: str, n: int, already: int) -> float:
    """The same stored documents of round ``n``, bulk-indexed straight into the same node."""
    from elasticsearch import helpers

    docs = [hit["_source"] for hit in helpers.scan(es, index=events, size=5000,
                                                   query={"query": {"term": {"user.name": f"round{n}"}}})]
    day = datetime.now().strftime("%Y.%m.%d")
    start = time.monotonic()
    helpers.bulk(es.options(request_timeout=120),
                 ({"_op_type": "create", "_index": f"{direct}{day}", "_source": d} for d in docs), chunk_size=1000)
    wait_searchable(es, f"{direct}*", already + len(docs))
    return time.monotonic() - start


def alternating(es: Any, events: str, direct: str, tmp: Path) -> tuple[float, float]:
    """Summed seconds of the agent rounds and of the direct rounds, run one after the other."""
    ours = bulk = 0.0
    for n in range(ROUNDS):
        ours += agent_round(es, events, tmp, n, n * (LINES // ROUNDS))
        bulk += direct_round(es, events, direct, n, n * (LINES // ROUNDS))
    return ours, bulk


def lag_phase(es: Any, events: str, tmp: Path) -> list[float]:
    written: dict[int, float] = {}
    total = LAG_SECONDS * LAG_PER_SECOND

    def write() -> None:
        with open(tmp / "lag.log", "a") as fh:
            for n in range(total):
                fh.write(line(n, user="lagprobe"))
                fh.flush()
                written[n] = time.monotonic()
                time.sleep(1 / LAG_PER_SECOND)

    writer = threading.Thread(target=write)
    writer.start()
    seen: dict[int, float] = {}
    deadline = time.monotonic() + LAG_SECONDS + 60
    while len(seen) < total and time.monotonic() < deadline:
        es.indices.refresh(index=events)
        hits = es.search(index=events, size=10_000, source_includes=["source.port"],
                         query={"term": {"user.name": "lagprobe"}})["hits"]["hits"]
        now = time.monotonic()
        for hit in hits:
            seen.setdefault(int(hit["_source"]["source"]["port"]), now)
        time.sleep(0.05)
    writer.join()
    return [seen[n] - written[n] for n in seen if n in written]


def main() -> None:
    cli(__doc__, short="20,000 lines instead of 100,000").parse_args()
    # Its own index prefix: the indices it deletes and fills are never another benchmark's.
    os.environ["SOC_ES_PREFIX"] = "bench-ingest-"
    django_setup()
    from django.conf import settings

    from soc import es as soc_es

    es = soc_es.client()
    events, direct = f"{settings.ES_INDEX_PREFIX}events-*", f"{settings.ES_INDEX_PREFIX}events-direct-"
    es.indices.delete(index=f"{settings.ES_INDEX_PREFIX}events-*", ignore_unavailable=True, allow_no_indices=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        procs = Processes(tmp / "logs")
        procs.spawn("web", "-m", "uvicorn", "soc.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning", "--no-access-log", "--workers", WEB_WORKERS,
                    env={**bench_env(), "SOC_INGEST_RATE_PER_COLLECTOR": "0", "SOC_INGEST_RATE_PER_PROVINCE": "0"})
        wait_http(f"http://127.0.0.1:{port}/login/")
        agent = start_agent(port, tmp, collector_secret())
        try:
            e2e, bulk = alternating(es, f"{settings.ES_INDEX_PREFIX}events-2*", direct, tmp)
            lags = lag_phase(es, f"{settings.ES_INDEX_PREFIX}events-2*", tmp)
        finally:
            agent.terminate()
            agent.wait(timeout=30)
            procs.stop()
    e2e_rate, bulk_rate = LINES / e2e, LINES / bulk
    report("ingest: collector → searchable vs direct bulk", {
        "events": LINES, "collector_events_per_s": round(e2e_rate), "direct_bulk_events_per_s": round(bulk_rate),
        "ratio": round(e2e_rate / bulk_rate, 2), "lag_p50_ms": round(p(lags, 50) * 1000),
        "lag_p95_ms": round(p(lags, 95) * 1000), "lag_samples": len(lags), "rounds": ROUNDS,
        "load_1min": round(os.getloadavg()[0], 1),
    }, target="ratio >= 0.8")
    print(json.dumps({"events_index": events}), file=sys.stderr)


if __name__ == "__main__":
    main()
