"""Suricata eve.json lines (alert, dns, flow, stats) to ECS."""

from __future__ import annotations

import json

from collectors.agent.parsers import ParseContext, parse, parse_json_record
from collectors.agent.parsers.base import get

ALERT = {
    "timestamp": "2026-07-30T10:00:04.123456+0700", "flow_id": 1234567890123456, "in_iface": "eth1",
    "event_type": "alert", "src_ip": "203.0.113.66", "src_port": 51544, "dest_ip": "10.10.0.5",
    "dest_port": 80, "proto": "TCP", "app_proto": "http", "community_id": "1:abc=",
    "alert": {"action": "allowed", "gid": 1, "signature_id": 2024897, "rev": 3,
              "signature": "ET WEB_SPECIFIC_APPS Possible Apache Struts OGNL Expression Injection",
              "category": "Attempted Administrator Privilege Gain", "severity": 1,
              "metadata": {"mitre_technique_id": ["T1190"]}},
    "http": {"hostname": "portal.example.vn", "url": "/index.action?x=%25{1+1}", "http_method": "GET",
             "http_user_agent": "python-requests/2.31", "status": 200, "length": 1043, "protocol": "HTTP/1.1"},
    "flow": {"pkts_toserver": 4, "pkts_toclient": 3, "bytes_toserver": 512, "bytes_toclient": 1400,
             "start": "2026-07-30T10:00:03.900000+0700"},
    "host": "ids-hcm-1",
}


def test_an_alert_line_becomes_an_ecs_alert(ctx: ParseContext) -> None:
    doc, source = parse(json.dumps(ALERT), ctx)
    assert source == "suricata"
    expected = {
        "event.kind": "alert", "event.dataset": "suricata.eve", "event.module": "suricata",
        "event.category": ["network", "intrusion_detection"], "event.type": ["allowed"], "event.severity": 1,
        "rule.id": "2024897", "rule.name": ALERT["alert"]["signature"], "rule.category":  # type: ignore[index]
        "Attempted Administrator Privilege Gain", "source.ip": "203.0.113.66", "source.port": 51544,
        "destination.ip": "10.10.0.5", "destination.port": 80, "network.transport": "tcp",
        "network.protocol": "http", "url.domain": "portal.example.vn", "http.response.status_code": 200,
        "user_agent.original": "python-requests/2.31", "host.name": "ids-hcm-1", "threat.technique.id": "T1190",
        "source.bytes": 512, "@timestamp": "2026-07-30T03:00:04.123Z", "event.start": "2026-07-30T03:00:03.900Z",
    }
    assert {f: get(doc, f) for f in expected} == expected
    assert get(doc, "event.original") == json.dumps(ALERT)
    assert get(doc, "suricata.eve.flow_id") == 1234567890123456


def test_a_blocked_alert_is_denied(ctx: ParseContext) -> None:
    record = {**ALERT, "alert": {**ALERT["alert"], "action": "blocked"}}  # type: ignore[dict-item]
    assert get(parse_json_record(record, ctx), "event.type") == ["denied"]


def test_dns_and_stats_records_are_not_alerts(ctx: ParseContext) -> None:
    dns = {"timestamp": "2026-07-30T10:00:05.000000+0700", "event_type": "dns", "src_ip": "10.10.0.9",
           "src_port": 5353, "dest_ip": "1.1.1.1", "dest_port": 53, "proto": "UDP",
           "dns": {"version": 3, "type": "query", "queries": [{"rrname": "evil.example", "rrtype": "A"}]}}
    doc = parse_json_record(dns, ctx)
    assert (get(doc, "event.kind"), get(doc, "dns.question.name"), get(doc, "network.transport")) == (
        "event", "evil.example", "udp")
    stats = parse_json_record({"timestamp": "2026-07-30T10:00:06+0700", "event_type": "stats", "stats": {}}, ctx)
    assert get(stats, "event.kind") == "metric"
    assert get(stats, "host.name") == "agent-host"  # no "host" in the record: the agent's


def test_json_that_is_neither_suricata_nor_windows_is_generic(ctx: ParseContext) -> None:
    doc, source = parse('{"hello": "world"}', ctx)
    assert source == "generic"
    assert get(doc, "event.original") == '{"hello": "world"}'
