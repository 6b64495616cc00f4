"""``|cidr`` as real CIDR matching: SigmaHQ rules on Windows events shaped by our collector, in Elasticsearch.

The corpus holds no 4624 logon nor Sysmon network connection, so the events are real records of the corpus
(a Security 4648 and a Sysmon process creation) turned into those events: same provider, channel, host and
EventData, with the event id and the fields the rules read set as Windows writes them. They go through the
collector's own parser, so the ECS fields (``source.ip``, ``destination.ip``) are the ones shipped.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collectors.agent.parsers import ParseContext, parse_json_record
from detection.sigma import convert_rule

from .conftest import CORPUS

REGRESSION = CORPUS / "sigma" / "regression_data" / "rules" / "windows"
SMB_RULE = "windows/builtin/security/account_management/win_security_successful_external_remote_smb_login.yml"
RUNDLL_RULE = "windows/network_connection/net_connection_win_rundll32_net_connections.yml"
PRIVATE = ["::1", "10.20.30.40", "172.16.5.4", "172.31.255.1", "127.0.0.1", "192.168.1.10", "169.254.7.7",
           "fe80::1c2d:3e4f:5a6b:7c8d", "fd12:3456::1", "::ffff:10.1.2.3"]
PUBLIC = ["8.8.8.8", "172.32.0.1", "2001:4860:4860::8888", "::ffff:8.8.4.4"]


def corpus_record(relative: str) -> dict[str, Any]:
    path = REGRESSION / relative
    if not path.exists():
        pytest.skip(f"Sigma regression data not found at {path}")
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def collected(record: dict[str, Any]) -> dict[str, Any]:
    """The ECS document our collector ships for this record."""
    ctx = ParseContext(host="collector", tz=ZoneInfo("UTC"), now=datetime(2026, 8, 1, tzinfo=UTC))
    return parse_json_record(record, ctx, source="windows")


def network_logon(address: str) -> dict[str, Any]:
    """A 4624 network logon (type 3) from ``address``, made from the corpus's real 4648."""
    record = copy.deepcopy(corpus_record(
        "builtin/security/win_security_explicit_credential_local_logon/e3c6d245-7b8f-4e2a-c17f-a9d0e5b38f62.json"))
    record["Event"]["System"]["EventID"] = 4624
    data = record["Event"]["EventData"]
    data.update({"LogonType": "3", "IpAddress": address, "IpPort": "49823", "WorkstationName": "WS-7",
                 "LogonProcessName": "NtLmSsp ", "AuthenticationPackageName": "NTLM"})
    return collected(record)


def rundll32_connection(address: str) -> dict[str, Any]:
    """A Sysmon 3 connection by rundll32 to ``address``, made from the corpus's real rundll32 process creation."""
    record = copy.deepcopy(corpus_record(
        "process_creation/proc_creation_win_rundll32_unc_path/5cdb711b-5740-4fb2-ba88-f7945027afac.json"))
    record["Event"]["System"]["EventID"] = 3
    old = record["Event"]["EventData"]
    record["Event"]["EventData"] = {
        "RuleName": "-", "UtcTime": old.get("UtcTime", ""), "ProcessGuid": old.get("ProcessGuid", ""),
        "ProcessId": old.get("ProcessId", ""), "Image": old["Image"], "User": old.get("User", ""),
        "Protocol": "tcp", "Initiated": "true", "SourceIsIpv6": "false", "SourceIp": "10.0.0.15",
        "SourceHostname": "ws-7.corp.local", "SourcePort": "50111", "DestinationIsIpv6": str(":" in address).lower(),
        "DestinationIp": address, "DestinationHostname": "-", "DestinationPort": "80"}
    return collected(record)


def fired_on(es: Any, load: Callable[[list[dict[str, Any]]], str], rule_text: str,
             events: dict[str, dict[str, Any]]) -> list[str]:
    rule = convert_rule(rule_text)
    assert rule.ok, rule.problems
    index = load([{**event, "tags": [name]} for name, event in events.items()])
    hits = es.search(index=index, query={"bool": {"filter": [rule.query]}}, size=100)["hits"]["hits"]
    return sorted(hit["_source"]["tags"][0] for hit in hits)


def test_external_smb_logon_fires_on_public_addresses_only(
        es: Any, event_index: Callable[[list[dict[str, Any]]], str], corpus_rule: Callable[[str], str]) -> None:
    events = {address: network_logon(address) for address in [*PRIVATE, *PUBLIC, "-"]}

    assert fired_on(es, event_index, corpus_rule(SMB_RULE), events) == sorted(PUBLIC)


def test_rundll32_connections_fire_on_public_addresses_outside_microsoft_ranges(
        es: Any, event_index: Callable[[list[dict[str, Any]]], str], corpus_rule: Callable[[str], str]) -> None:
    microsoft = ["20.1.2.3", "51.104.9.9"]
    events = {address: rundll32_connection(address) for address in [*PRIVATE, *PUBLIC, *microsoft]}

    assert fired_on(es, event_index, corpus_rule(RUNDLL_RULE), events) == sorted(PUBLIC)


def test_a_cidr_searches_the_ip_field_never_its_text(corpus_rule: Callable[[str], str]) -> None:
    rule = convert_rule(corpus_rule(SMB_RULE))

    assert rule.lucene is not None and "source.ip:10.0.0.0\\/8" in rule.lucene
    assert "source.ip:fe80\\:\\:\\/10" in rule.lucene and "IpAddress.lc:10" not in rule.lucene


def test_a_cidr_on_a_field_we_keep_as_text_is_refused_with_the_reason(corpus_rule: Callable[[str], str]) -> None:
    # The System log keeps IpAddress only as text (the collector copies it to source.ip for Security).
    rule = convert_rule(corpus_rule(SMB_RULE).replace("service: security", "service: system"))

    [problem] = rule.problems
    assert problem.kind == "modifier" and problem.field == "IpAddress" and problem.line is not None
    assert "ip-typed" in problem.message and "winlog.event_data.IpAddress" in problem.message
    assert rule.query is None


def test_ipv6_and_ipv4_cidrs_both_reach_the_ip_field(corpus_rule: Callable[[str], str]) -> None:
    rule = convert_rule(corpus_rule(RUNDLL_RULE))

    assert rule.lucene is not None
    assert "destination.ip:fe80\\:\\:\\/10" in rule.lucene and "destination.ip:10.0.0.0\\/8" in rule.lucene
