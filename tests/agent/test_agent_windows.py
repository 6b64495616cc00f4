"""Windows events (JSON rendering, as in Sigma's regression data) to Winlogbeat-shaped ECS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collectors.agent.parsers import ParseContext, parse, parse_json_record
from collectors.agent.parsers.base import get

from .conftest import corpus_path


def records_in(path: Path) -> list[dict[str, Any]]:
    """Some regression files hold several JSON documents one after the other."""
    text, decoder, pos, out = path.read_text(encoding="utf-8-sig"), json.JSONDecoder(), 0, []
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        record, pos = decoder.raw_decode(text, pos)
        out.append(record)
    return out


def regression_files() -> list[Path]:
    return sorted(corpus_path("sigma", "regression_data").rglob("*.json"))


def test_every_regression_record_parses_with_code_channel_and_time(ctx: ParseContext) -> None:
    files = regression_files()
    assert len(files) >= 200
    count = 0
    for path in files:
        for record in records_in(path):
            doc = parse_json_record(record, ctx)
            event_data = record["Event"].get("EventData") or {}
            assert get(doc, "event.code") == str(record["Event"]["System"]["EventID"]), path
            assert get(doc, "winlog.channel") == record["Event"]["System"]["Channel"]
            assert doc["@timestamp"].endswith("Z") and not get(doc, "error.message"), path
            # every EventData field verbatim, as a string
            for name, value in event_data.items():
                if name != "#attributes":
                    assert get(doc, "winlog.event_data")[name] == str(value), (path, name)
            count += 1
    assert count >= 230


def test_a_sysmon_process_creation_fills_ecs_process_fields(ctx: ParseContext) -> None:
    path = next(p for p in regression_files() if "proc_creation_win_exploit_cve_2026_33829" in str(p))
    doc = parse_json_record(records_in(path)[0], ctx)
    data = get(doc, "winlog.event_data")
    expected = {
        "event.code": "1", "winlog.event_id": "1", "event.provider": "Microsoft-Windows-Sysmon",
        "event.module": "sysmon", "event.category": ["process"], "event.type": ["start"],
        "event.action": "Process Create (rule: ProcessCreate)", "host.name": "swachchhanda",
        "process.executable": data["Image"], "process.command_line": data["CommandLine"],
        "process.pid": 6180, "process.name": "SnippingTool.exe", "process.parent.pid": 6428,
        "process.parent.executable": data["ParentImage"], "process.parent.name": "msedge.exe",
        "user.name": "xodih", "user.domain": "swachchhanda", "process.hash.sha256": data["Hashes"].split(
            "SHA256=")[1].split(",")[0], "@timestamp": "2026-04-20T10:00:35.646Z",
    }
    assert {f: get(doc, f) for f in expected} == expected


def security_event(event_id: int, data: dict[str, str], keywords: str = "0x8020000000000000") -> dict[str, Any]:
    return {"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing",
                                     "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
        "EventID": event_id, "Version": 2, "Level": 0, "Task": 12544, "Opcode": 0, "Keywords": keywords,
        "TimeCreated": {"#attributes": {"SystemTime": "2026-07-30T03:00:00.1234567Z"}}, "EventRecordID": 99,
        "Execution": {"#attributes": {"ProcessID": 700, "ThreadID": 800}}, "Channel": "Security",
        "Computer": "dc01.corp.example.vn", "Security": None}, "EventData": data}}


SUBJECT = {"SubjectUserSid": "S-1-5-21-1-2-3-500", "SubjectUserName": "admin", "SubjectDomainName": "CORP",
           "SubjectLogonId": "0x3e7"}
LOGON = {**SUBJECT, "TargetUserSid": "S-1-5-21-1-2-3-1104", "TargetUserName": "nguyen.van.a",
         "TargetDomainName": "CORP", "TargetLogonId": "0x8dcdc", "LogonType": "10",
         "WorkstationName": "WS-17", "IpAddress": "10.20.30.40", "IpPort": "51234",
         "ProcessName": "C:\\Windows\\System32\\svchost.exe", "ProcessId": "0x44c"}


@pytest.mark.parametrize(("event_id", "data", "keywords", "fields"), [
    (4624, LOGON, "0x8020000000000000",
     {"event.action": "logged-in", "event.outcome": "success", "user.name": "nguyen.van.a", "user.domain": "CORP",
      "source.ip": "10.20.30.40", "source.port": 51234, "winlog.logon.type": "RemoteInteractive",
      "process.pid": 0x44C, "event.category": ["authentication"]}),
    (4625, {**LOGON, "Status": "0xc000006d", "SubStatus": "0xc000006a", "IpPort": "-"}, "0x8010000000000000",
     {"event.action": "logon-failed", "event.outcome": "failure", "source.port": None,
      "winlog.logon.failure.sub_status": "0xc000006a", "winlog.keywords": ["Audit Failure"]}),
    (4634, {"TargetUserName": "nguyen.van.a", "TargetDomainName": "CORP", "LogonType": "3"}, "0x8020000000000000",
     {"event.action": "logged-out", "event.type": ["end"], "winlog.logon.type": "Network"}),
    (4672, {**SUBJECT, "PrivilegeList": "SeDebugPrivilege"}, "0x8020000000000000",
     {"event.action": "logged-in-special", "user.name": "admin", "user.id": "S-1-5-21-1-2-3-500"}),
    (4688, {**SUBJECT, "NewProcessId": "0x1a2c", "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": "cmd.exe /c whoami", "ProcessId": "0x10", "ParentProcessName":
            "C:\\Windows\\explorer.exe"}, "0x8020000000000000",
     {"event.action": "created-process", "process.pid": 0x1A2C, "process.name": "cmd.exe",
      "process.command_line": "cmd.exe /c whoami", "process.parent.name": "explorer.exe",
      "process.parent.pid": 16}),
    (4720, {**SUBJECT, "TargetUserName": "svc_backup", "TargetDomainName": "CORP", "TargetSid": "S-1-5-21-9"},
     "0x8020000000000000",
     {"event.action": "added-user-account", "user.name": "admin", "user.target.name": "svc_backup",
      "event.type": ["user", "creation"]}),
    (4728, {**SUBJECT, "MemberName": "CN=svc_backup,OU=Service,DC=corp,DC=example,DC=vn",
            "MemberSid": "S-1-5-21-9", "TargetUserName": "Domain Admins", "TargetDomainName": "CORP",
            "TargetSid": "S-1-5-21-512"}, "0x8020000000000000",
     {"event.action": "added-member-to-group", "group.name": "Domain Admins", "user.target.name": "svc_backup"}),
    (4732, {**SUBJECT, "MemberName": "-", "MemberSid": "S-1-5-21-9", "TargetUserName": "Administrators",
            "TargetDomainName": "Builtin", "TargetSid": "S-1-5-32-544"}, "0x8020000000000000",
     {"event.action": "added-member-to-group", "group.name": "Administrators", "user.target.id": "S-1-5-21-9"}),
])
def test_security_events_get_winlogbeat_ecs_fields(ctx: ParseContext, event_id: int, data: dict[str, str],
                                                   keywords: str, fields: dict[str, Any]) -> None:
    doc, source = parse(json.dumps(security_event(event_id, data, keywords)), ctx)
    assert source == "windows"
    assert {f: get(doc, f) for f in fields} == fields
    assert (get(doc, "event.code"), get(doc, "winlog.channel")) == (str(event_id), "Security")
    assert get(doc, "event.dataset") == "system.security"
    assert get(doc, "winlog.event_data") == data
    assert doc["@timestamp"] == "2026-07-30T03:00:00.123Z"
    assert get(doc, "winlog.provider_guid") == "{54849625-5478-4994-A5BA-3E3B0328C30D}"


KERBEROS_TGT = {"TargetUserName": "nguyen.van.a", "TargetDomainName": "CORP", "ServiceName": "krbtgt",
                "Status": "0x0", "IpAddress": "::ffff:10.20.30.40", "IpPort": "51234"}


@pytest.mark.parametrize(("event_id", "data", "source_ip"), [
    (4768, KERBEROS_TGT, "::ffff:10.20.30.40"),  # no field mapping of its own: IpAddress still lands in source.ip
    (5140, {**SUBJECT, "ShareName": "\\\\*\\C$", "IpAddress": "fe80::1c2d:3e4f:5a6b:7c8d%12", "IpPort": "445"},
     "fe80::1c2d:3e4f:5a6b:7c8d"),  # a zone index, which the ip type refuses, is dropped
    (4624, {**LOGON, "IpAddress": "WS-17.corp"}, None),  # not an address: kept as text only, event not refused
    (4625, {**LOGON, "IpAddress": "-"}, None),
])
def test_every_security_event_with_an_address_has_it_as_source_ip(
        ctx: ParseContext, event_id: int, data: dict[str, str], source_ip: str | None) -> None:
    doc, _ = parse(json.dumps(security_event(event_id, data)), ctx)

    assert get(doc, "source.ip") == source_ip
    assert get(doc, "winlog.event_data.IpAddress") == data["IpAddress"]


def test_audit_log_cleared_reads_its_user_data(ctx: ParseContext) -> None:
    record = security_event(1102, {})
    del record["Event"]["EventData"]
    record["Event"]["System"]["Provider"]["#attributes"]["Name"] = "Microsoft-Windows-Eventlog"
    record["Event"]["UserData"] = {"LogFileCleared": {
        "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
        "SubjectUserSid": "S-1-5-21-1-2-3-500", "SubjectUserName": "admin", "SubjectDomainName": "CORP"}}
    doc = parse_json_record(record, ctx)
    assert get(doc, "event.action") == "audit-log-cleared"
    assert get(doc, "user.name") == "admin"
    assert get(doc, "winlog.user_data.xml_name") == "LogFileCleared"


def test_unnamed_data_elements_become_params(ctx: ParseContext) -> None:
    record = security_event(7045, {})
    record["Event"]["EventData"] = {"Data": ["svc", {"#text": "C:\\x.exe"}]}
    assert get(parse_json_record(record, ctx), "winlog.event_data") == {"param1": "svc", "param2": "C:\\x.exe"}
