"""Elasticsearch down for 60 s while two collectors ship: their spools grow, then drain, every line once.

Only ES stops: the web app stays up and answers ``retry`` for every event, so
the agents keep the events in their spools (heartbeats still report the depth)
and resend with backoff until ES is back. Runs only under scripts/test.sh,
which owns the services it stops (see test_service_restarts.py); try it on a
private set with ``ES_PORT=9211 REDIS_PORT=6391 PG_PORT=5441 scripts/test.sh
tests/chaos/test_es_outage.py``. ``SOC_ES_OUTAGE_SECONDS`` changes the outage.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.collectors.platform import Agent, Platform, wait_count, web_serving
from tests.collectors.test_agent_delivery import assert_exactly_once
from tests.conftest import EnrolledCollector
from tests.processes import ROOT

OUTAGE = float(os.environ.get("SOC_ES_OUTAGE_SECONDS", "60"))
RATE = 100  # lines per second per collector


def line(host: str, n: int) -> str:
    return (f"Nov 28 08:15:{n % 60:02d} {host} sshd[{n}]: Failed password for user{n} "
            f"from 203.0.113.{n % 250} port 22 ssh2")


def write(path: Path, host: str, stop: threading.Event, written: list[str]) -> None:
    with path.open("a") as fh:
        while not stop.is_set():
            for _ in range(10):
                text = line(host, len(written))
                fh.write(text + "\n")
                written.append(text)
            fh.flush()
            time.sleep(10 / RATE)


def es_outage(seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen([str(ROOT / "scripts" / "services.sh"), "restart", "es", str(int(seconds))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def web(transactional_db: None, tmp_path: Path) -> Iterator[Platform]:
    if not os.environ.get("SOC_TEST_OWNS_SERVICES"):
        pytest.skip("stops Elasticsearch: only under scripts/test.sh, which owns the services it started")
    yield from web_serving(tmp_path)


def spool_depths(agents: list[Agent]) -> list[int]:
    return [int(agent.status().get("spool", {}).get("depth") or 0) for agent in agents]


def test_an_elasticsearch_outage_fills_the_spools_which_then_drain_exactly_once(
        es: Elasticsearch, web: Platform, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector,
        tmp_path: Path) -> None:
    agents: list[Agent] = []
    writers: list[threading.Thread] = []
    lines: list[list[str]] = []
    stop = threading.Event()
    for collector, host in ((hni_collector, "hni-web-01"), (hcm_collector, "hcm-web-01")):
        log, written = tmp_path / f"{host}-auth.log", list[str]()  # "<name>.log" is the agent's own log
        log.touch()
        agents.append(Agent(web, tmp_path, collector.secret, "--path", str(log), name=host))
        writers.append(threading.Thread(target=write, args=(log, host, stop, written)))
        lines.append(written)
    for agent, writer in zip(agents, writers, strict=True):
        agent.start()
        writer.start()
    try:
        wait_count(es, 2 * RATE, timeout=30, why=agents[0].logs())  # shipping before the outage
        outage = es_outage(OUTAGE)
        deepest = [0, 0]
        while outage.poll() is None:
            deepest = [max(a, b) for a, b in zip(deepest, spool_depths(agents), strict=True)]
            time.sleep(0.5)
        assert outage.returncode != 3, "Elasticsearch was not started by this run"
        assert outage.returncode == 0, outage.stderr.read() if outage.stderr else ""
        time.sleep(3)
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    try:
        expected = {text for written in lines for text in written}
        wait_count(es, len(expected), timeout=OUTAGE + 120, why=agents[0].logs() + agents[1].logs())
        time.sleep(2)  # anything resent after the count was reached would show up now
        assert_exactly_once(es, expected)
        deadline = time.monotonic() + 30
        while any(spool_depths(agents)) and time.monotonic() < deadline:
            time.sleep(0.5)
        drained = spool_depths(agents)
    finally:
        for agent in agents:
            agent.stop()
    print(f"\nES down {OUTAGE:.0f}s; deepest spools {deepest}; {len(expected)} lines stored once; spools now {drained}")
    assert min(deepest) >= RATE * OUTAGE / 2, f"the spools should have held the outage's lines: {deepest}"
    assert drained == [0, 0]
