"""Port scans in real firewall syslog, end to end: log files → collector agent (parse at the edge) → ingest API
(uvicorn) → Elasticsearch → the starter port-scan rule → alerts and incidents, in the right province only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from elasticsearch import Elasticsearch

from collectors.agent.config import AgentConfig
from collectors.agent.runner import Agent
from detection.models import Alert
from detection.services import rules_run
from detection.starter import RULES_DIR, starter_read
from soc import es as soc_es
from tests.collectors.platform import Platform, web_serving
from tests.conftest import Cast, EnrolledCollector
from tests.detection_engine.conftest import make_rule

HCM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PORTS = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1723, 3306, 3389, 5900, 8080,
         8443, 8888]


@pytest.fixture
def web(transactional_db: None, es: Elasticsearch, tmp_path: Path) -> Iterator[Platform]:
    yield from web_serving(tmp_path)


def ufw(moment: datetime, src: str, port: int) -> str:
    stamp = moment.astimezone(HCM_TZ).strftime("%b %e %H:%M:%S")
    return (f"{stamp} hni-fw-01 kernel: [ 3453.276354] [UFW BLOCK] IN=eth0 OUT= "
            f"MAC=08:00:27:a8:6e:4b:52:54:00:12:35:02:08:00 SRC={src} DST=10.0.0.5 LEN=44 TOS=0x00 PREC=0x00 "
            f"TTL=49 ID=54321 PROTO=TCP SPT=43771 DPT={port} WINDOW=1024 RES=0x00 SYN URGP=0\n")


def fortigate(moment: datetime, src: str, port: int) -> str:
    local = moment.astimezone(HCM_TZ)
    return (f'date={local:%Y-%m-%d} time={local:%H:%M:%S} devname="HNI-FGT-01" devid="FG100FTK19000000" '
            f'tz="+0700" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" '
            f'srcip={src} srcport=51234 srcintf="port1" dstip=10.10.1.20 dstport={port} dstintf="port2" proto=6 '
            f'action="deny" policyid=0 service="tcp/{port}"\n')


def ship(web: Platform, collector: EnrolledCollector, tmp: Path, files: dict[str, str]) -> int:
    """One read and one send of the real agent over these log files; returns the events it delivered."""
    secret = tmp / "agent.secret"
    secret.write_text(collector.secret)
    inputs: list[dict[str, Any]] = []
    for name, text in files.items():
        (tmp / f"{name}.log").write_text(text)
        inputs.append({"type": "file", "name": name, "paths": [str(tmp / f"{name}.log")]})
    agent = Agent(AgentConfig(url=web.api, secret_file=str(secret), state_dir=str(tmp / "agent-state"),
                              hostname="hni-fw-01", inputs=inputs))
    try:
        read = agent.read_files_once()
        sent = agent.send_once()
    finally:
        agent.stop.set()
        agent.sender.close()
    assert read == sent, agent.counters.last_error
    soc_es.client().indices.refresh(index=soc_es.events_pattern())
    return sent


def test_a_port_scan_in_firewall_syslog_becomes_one_alert_and_incident_per_scanner(
        web: Platform, cast: Cast, hni_collector: EnrolledCollector, es: Elasticsearch, tmp_path: Path) -> None:
    start = datetime.now(HCM_TZ).replace(microsecond=0) - timedelta(seconds=50)
    kern = "".join(ufw(start + timedelta(seconds=i), "198.51.100.40", port) for i, port in enumerate(PORTS))
    kern += "".join(ufw(start + timedelta(seconds=i % 40), "198.51.100.41", 443) for i in range(60))  # busy, no scan
    kern += f"{start:%b %e %H:%M:%S} hni-fw-01 kernel: e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex\n"
    forti = "".join(fortigate(start + timedelta(seconds=i), "203.0.113.66", 1000 + i) for i in range(25))
    rule = make_rule(**starter_read(RULES_DIR / "port_scan.yml")[0])

    delivered = ship(web, hni_collector, tmp_path, {"kern": kern, "fortigate": forti})
    [run] = rules_run(rule_ids=[rule.pk])

    assert delivered == len(PORTS) + 60 + 1 + 25
    stored = es.count(index=soc_es.events_pattern(), query={"term": {"event.category": "network"}})["count"]
    assert stored == len(PORTS) + 60 + 25
    assert run.error == "" and run.alerts == 2
    alerts = {alert.entity_value: alert for alert in Alert.objects.filter(rule=rule).select_related("incident")}
    assert set(alerts) == {"198.51.100.40", "203.0.113.66"}
    for alert in alerts.values():
        assert alert.province.code == "HNI" and alert.entity_kind == "ip"
        assert alert.count >= 20 and len(alert.event_refs) == alert.count
        assert alert.incident is not None and alert.incident.province_id == cast.hni.pk
    scanned = es.search(index=soc_es.events_pattern(), size=1, query={"ids": {"values": [
        alerts["198.51.100.40"].event_refs[0].split("/", 1)[1]]}})["hits"]["hits"][0]["_source"]
    assert scanned["observer"]["product"] == "ufw" and scanned["network"]["transport"] == "tcp"
    assert scanned["organization"]["id"] == "HNI"

    [again] = rules_run(rule_ids=[rule.pk], now=run.started_at + timedelta(seconds=5))
    assert again.alerts == 0 and Alert.objects.filter(rule=rule).count() == 2
