"""A real Celery worker killed with SIGKILL in the middle of a rule run, then restarted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from detection.models import Alert, DetectionRule, RuleRun
from detection.tasks import run_rules
from incidents.models import Incident
from soc import es as soc_es
from tests.detection_engine.conftest import Index, ago, event, make_rule
from tests.processes import Platform
from tests.searchable import searchable_count

ATTACKERS = 40


@pytest.fixture
def worker(transactional_db: None, es: Elasticsearch, tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(tmp_path)
    yield platform
    platform.stop()


def start_worker(platform: Platform) -> None:
    # One process, no prefork child: SIGKILL stops the task itself, mid-transaction.
    platform.spawn("worker", "-m", "celery", "-A", "soc", "worker", "-Q", "detection", "-P", "solo",
                   "--without-gossip", "--without-mingle", "-l", "info")


def wait_for(condition: Callable[[], bool], timeout: float, what: str, platform: Platform) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout}s\n{platform.logs()}")


def es_alerts(es: Elasticsearch) -> int:
    return searchable_count(es, soc_es.index_pattern("alerts"))


def test_a_worker_killed_mid_run_and_restarted_leaves_no_gap_and_no_duplicate(
        worker: Platform, es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="brute", kind="threshold", params={
        "query": "event.outcome:failure", "group_by": ["source.ip"], "count": 3, "window_seconds": 60})
    index(*[event(ago(40 - i), event__outcome="failure", source__ip=f"10.9.{n // 250}.{n % 250}")
            for n in range(ATTACKERS) for i in range(3)])
    start_worker(worker)

    run_rules.apply_async(args=([rule.pk],))
    wait_for(lambda: es_alerts(es) > 0, 60, "the first alert", worker)
    worker.kill9("worker")

    # The run's documents are written in one bulk before its rows: killed after it, while the rows and incidents
    # are being made in the run's transaction (no run row yet: the run had not finished).
    assert not Alert.objects.exists() and not Incident.objects.exists() and not RuleRun.objects.exists()
    assert DetectionRule.objects.get().checkpoint is None  # the killed run's window is still to do

    start_worker(worker)
    run_rules.apply_async(args=([rule.pk],))  # what beat sends on its next tick
    wait_for(lambda: RuleRun.objects.exists(), 60, "the re-run", worker)

    [run] = RuleRun.objects.all()
    assert run.error == "" and run.alerts == ATTACKERS
    assert Alert.objects.count() == ATTACKERS and Incident.objects.count() == ATTACKERS
    assert es_alerts(es) == ATTACKERS
