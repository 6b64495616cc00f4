"""Clock skew of ±10 minutes on a collector's host: events land at the right UTC time and rules still fire.

The agent runs as its own process with its clock shifted (SOC_AGENT_TEST_CLOCK_SKEW), tailing an auth.log
whose syslog timestamps carry the same wrong clock. It measures the offset against the central side's
``server_time`` on each heartbeat and sends it with every batch; the ingest moves ``@timestamp`` by it.
Uncorrected, every event would sit ten minutes away from when it was ingested, and the brute-force
rule's 5-minute window would miss (or the checkpoint would already be past) the bursts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from collectors.models import Collector
from detection.models import DetectionRule, RuleKind
from incidents.models import Incident
from soc.management.commands.seed_demo import SSH_BRUTE_FORCE
from tests.chaos.workload import wait_until
from tests.conftest import EnrolledCollector
from tests.processes import Platform

ATTACKERS = ["198.51.100.7", "198.51.100.8", "198.51.100.9"]
BENIGN = 20


def skewed_lines(skew: float) -> str:
    """sshd lines stamped by a host clock that is ``skew`` seconds off (the host writes its own local time)."""
    stamp = (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(seconds=skew)).strftime("%b %e %H:%M:%S")
    bodies = [f"sshd[{100 + n}]: Accepted publickey for deploy from 10.20.0.{n + 1} port 22 ssh2"
              for n in range(BENIGN)]
    for a, ip in enumerate(ATTACKERS):
        bodies += [f"sshd[{1000 + a * 10 + i}]: Failed password for root from {ip} port 22 ssh2" for i in range(6)]
    return "".join(f"{stamp} hni-app-01 {body}\n" for body in bodies)


def stored_events(es: Any) -> list[dict[str, Any]]:
    index = f"{settings.ES_INDEX_PREFIX}events-*"
    es.indices.refresh(index=index, allow_no_indices=True)
    resp = es.search(index=index, size=100, allow_no_indices=True, query={"match_all": {}})
    return [hit["_source"] for hit in resp["hits"]["hits"]]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("skew", [600.0, -600.0], ids=["ten-minutes-ahead", "ten-minutes-behind"])
def test_a_skewed_collector_clock_is_corrected_and_the_threshold_rule_still_fires(
        platform: Platform, es: Any, hni_collector: EnrolledCollector, tmp_path: Path, skew: float) -> None:
    DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params=SSH_BRUTE_FORCE,
                                 severity="high", category="intrusion_attempts", interval_seconds=1)
    secret = tmp_path / "secret"
    secret.write_text(hni_collector.secret)
    log = tmp_path / "auth.log"
    log.write_text(skewed_lines(skew))
    platform.env = {**platform.env, "SOC_AGENT_TEST_CLOCK_SKEW": str(skew)}
    platform.spawn("agent", "-m", "collectors.agent", "run", "--url", f"{platform.base}/api/v1",
                   "--secret-file", str(secret), "--path", str(log), "--state-dir", str(tmp_path / "state"))
    expected = BENIGN + 6 * len(ATTACKERS)

    assert wait_until(lambda: len(stored_events(es)) >= expected, timeout=60), platform.logs()
    events = stored_events(es)
    for doc in events:
        off_by = (moment(doc["@timestamp"]) - moment(doc["event"]["ingested"])).total_seconds()
        assert abs(off_by) < 10, (doc["@timestamp"], doc["event"]["ingested"])
        assert doc["soc"]["clock_offset_seconds"] == pytest.approx(-skew, abs=2)
    assert wait_until(lambda: Incident.objects.count() >= len(ATTACKERS), timeout=45), platform.logs()
    keys = Incident.objects.values_list("dedup_key", flat=True)
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ATTACKERS
    assert wait_until(lambda: Collector.objects.get(pk=hni_collector.collector.pk).health.get(
        "clock_offset_seconds") == pytest.approx(-skew, abs=2), timeout=20)
