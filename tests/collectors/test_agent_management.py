"""Enrollment, heartbeat, central configuration without restart, the status command, syslog to ES."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from elasticsearch import Elasticsearch

from collectors.models import Collector
from collectors.services import collector_authenticate, collector_configure, enrollment_token_create
from collectors.tasks import check_collector_health
from incidents.models import Incident
from organisations.actors import Actor
from tests.collectors.platform import ROOT, Agent, Platform, count, free_port, wait_count
from tests.conftest import Cast, EnrolledCollector

LINE = "Nov 28 08:15:02 hni-web-01 sshd[811]: Failed password for root from 203.0.113.9 port {n} ssh2\n"


@pytest.fixture
def agent(web: Platform, tmp_path: Path, hni_collector: EnrolledCollector) -> Iterator[Agent]:
    running = Agent(web, tmp_path, hni_collector.secret, "--path", str(tmp_path / "a.log"))
    yield running
    running.stop()


def agent_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "collectors.agent", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_enroll_trades_a_one_time_token_for_a_private_credential(
        transactional_db: None, cast: Cast, web: Platform, tmp_path: Path) -> None:
    token = enrollment_token_create(organisation=cast.hni, created_by=cast.lead)
    secret_file = tmp_path / "etc" / "secret"

    done = agent_cli("enroll", "--url", web.api, "--token", token, "--name", "HNI-MAIL-01",
                     "--secret-file", str(secret_file))

    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    collector = collector_authenticate(secret=secret_file.read_text().strip())
    assert collector is not None and collector.organisation.code == "HNI" and collector.name == "HNI-MAIL-01"
    again = agent_cli("enroll", "--url", web.api, "--token", token, "--name", "HNI-MAIL-02",
                      "--secret-file", str(tmp_path / "other"))
    assert again.returncode == 1 and "enrollment_refused" in again.stderr
    assert not (tmp_path / "other").exists()


def test_heartbeats_reach_the_central_side_and_status_reads_the_running_agent(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, agent: Agent,
        tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("".join(LINE.format(n=n) for n in range(20)))
    agent.start()
    wait_count(es, 20, timeout=30, why=agent.logs())

    def reported() -> bool:
        health = Collector.objects.get(pk=hni_collector.collector.pk).health
        return health.get("spool", {}).get("depth") == 0 and bool(health.get("inputs"))
    eventually(reported)

    shown = agent_cli("status", "--state-dir", str(agent.state))
    assert shown.returncode == 0, shown.stderr
    assert "running" in shown.stdout and "central: reachable" in shown.stdout

    def status_counts_all() -> bool:  # the status file is written after each heartbeat's answer: the one read
        # just after the central side stored a heartbeat may be the one before it
        as_json = json.loads(agent_cli("status", "--state-dir", str(agent.state), "--json").stdout)
        return bool(as_json["counters"]["created"] == 20 and as_json["spool"]["depth"] == 0)
    eventually(status_counts_all)
    agent.stop()
    stale = agent_cli("status", "--state-dir", str(tmp_path / "never-ran"))
    assert stale.returncode == 3 and "has not run" in stale.stderr


def test_central_configuration_is_applied_without_a_restart(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, agent: Agent,
        tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(LINE.format(n=1))
    (tmp_path / "b.log").write_text(LINE.format(n=2) + LINE.format(n=3))
    agent.start()
    wait_count(es, 1, timeout=30, why=agent.logs())
    pid = agent.proc.pid if agent.proc else 0

    collector_configure(collector=hni_collector.collector, actor=Actor.system(), config={
        "batch_size": 50, "inputs": [{"type": "file", "name": "b", "paths": [str(tmp_path / "b.log")]}]})

    wait_count(es, 3, timeout=30, why=agent.logs())
    eventually(lambda: agent.status().get("config", {}).get("batch_size") == 50)
    assert agent.proc is not None and agent.proc.pid == pid and agent.alive()
    assert [i["name"] for i in agent.status()["inputs"]] == ["b"]


@pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger is not installed")
def test_logger_over_tcp_and_udp_reaches_elasticsearch_through_the_agent(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, web: Platform,
        tmp_path: Path) -> None:
    tcp, udp = free_port(), free_port()
    agent = Agent(web, tmp_path, hni_collector.secret, "--syslog-tcp", str(tcp), "--syslog-udp", str(udp))
    agent.start()
    try:
        eventually(lambda: len(agent.status().get("inputs", [])) == 2)
        for flag, port in (("--tcp", tcp), ("--udp", udp)):
            subprocess.run(["logger", "--rfc5424", flag, "-n", "127.0.0.1", "-P", str(port), "-t", "sshd",
                            f"Failed password for root from 203.0.113.{port % 200} port 4242 ssh2"],
                           check=True, timeout=10)
        wait_count(es, 2, timeout=30, why=agent.logs())
        assert count(es, {"term": {"process.name": "sshd"}}) == 2
        assert count(es, {"term": {"network.transport": "udp"}}) == 1
        assert count(es, {"term": {"event.outcome": "failure"}}) == 2
    finally:
        agent.stop()


def test_a_one_off_evtx_replay_finishes_stores_every_record_and_raises_no_silence_incident(
        es: Elasticsearch, transactional_db: None, hni_collector: EnrolledCollector, web: Platform,
        tmp_path: Path) -> None:
    from tests.agent.test_agent_evtx import copy_samples, read_records

    files = copy_samples(tmp_path / "case" / "ws-01", 3)
    (tmp_path / "case" / "ws-02" / "old").mkdir(parents=True)
    shutil.copy(files[0], tmp_path / "case" / "ws-02" / "old" / "re-export.evtx")  # the same records again
    distinct = sum(1 for f in files for _ in read_records(str(f)))
    again = sum(1 for _ in read_records(str(files[0])))
    agent = Agent(web, tmp_path, hni_collector.secret, "--evtx", str(tmp_path / "case" / "**" / "*.evtx"))
    agent.start("--once")
    assert agent.proc is not None and agent.proc.wait(timeout=60) == 0, agent.logs()

    assert wait_count(es, distinct, timeout=30, why=agent.logs()) == distinct
    shown = agent_cli("status", "--state-dir", str(agent.state))
    assert shown.returncode == 0 and "finished" in shown.stdout, shown.stdout
    read = distinct + again
    assert f"read {read}, sent {read}, created {distinct}, duplicate {again}, rejected 0" in shown.stdout
    Collector.objects.filter(pk=hni_collector.collector.pk).update(
        last_heartbeat_at=timezone.now() - timedelta(days=1), last_seen_at=timezone.now() - timedelta(days=1))
    assert check_collector_health() == 0
    assert not Incident.objects.exists()
