"""Real SigmaHQ rules, converted for our events, run against real Elasticsearch.

Each case indexes a positive and a negative event shaped as our collectors produce them and checks
that the rule's query finds exactly the positive one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from detection.sigma import convert_rule

TS = "2026-03-01T10:00:00Z"
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def sshd(message: str) -> dict[str, Any]:
    return {"@timestamp": TS, "event": {"dataset": "system.auth"}, "process": {"name": "sshd"},
            "message": message, "organization": {"id": "79"}}


def web(url: str, method: str = "GET", user_agent: str | None = "curl/8.0") -> dict[str, Any]:
    # A combined-log "-" user agent or referrer is left out of the event, which Sigma's null expects.
    path, _, query = url.partition("?")
    event = {"@timestamp": TS, "event": {"dataset": "nginx.access"}, "source": {"ip": "203.0.113.9"},
             "url": {"original": url, "path": path, **({"query": query} if query else {})},
             "http": {"request": {"method": method}, "response": {"status_code": 200}}}
    return {**event, "user_agent": {"original": user_agent}} if user_agent else event


def sysmon_process(image: str, command_line: str) -> dict[str, Any]:
    return {"@timestamp": TS, "event": {"code": "1"}, "host": {"name": "ws-01"},
            "winlog": {"channel": SYSMON, "provider_name": "Microsoft-Windows-Sysmon",
                       "event_data": {"Image": image, "CommandLine": command_line}}}


def security_4688(image: str, command_line: str) -> dict[str, Any]:
    return {"@timestamp": TS, "event": {"code": "4688"}, "host": {"name": "ws-02"},
            "winlog": {"channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing",
                       "event_data": {"NewProcessName": image, "CommandLine": command_line}}}


def linux_process(executable: str, command_line: str) -> dict[str, Any]:
    return {"@timestamp": TS, "process": {"executable": executable, "command_line": command_line,
                                          "name": executable.rsplit("/", 1)[-1]}}


CASES = [
    ("linux/builtin/sshd/lnx_sshd_susp_ssh.yml",
     sshd("error: Corrupted MAC on input. [preauth]"), sshd("Accepted password for bob from 10.0.0.5")),
    ("linux/builtin/lnx_shellshock.yml",
     {**sshd("Invalid user () { :; }; /bin/bash -c id"), "event": {"dataset": "system.auth"}},
     sshd("Invalid user admin from 10.0.0.5")),
    ("linux/process_creation/proc_creation_lnx_base64_decode.yml",
     linux_process("/usr/bin/base64", "base64 -d /tmp/payload"),
     linux_process("/usr/bin/base64", "base64 /etc/hostname")),
    ("web/webserver_generic/web_path_traversal_exploitation_attempt.yml",
     web("/cgi-bin/../../../etc/passwd"), web("/static/app.js")),
    ("web/webserver_generic/web_webshell_regeorg.yml",
     web("/upload/tunnel.jsp?cmd=connect&target=10.0.0.1&port=22", "POST", user_agent=None),
     web("/upload/tunnel.jsp?cmd=connect&target=10.0.0.1&port=22", "POST")),  # has a user agent
    ("windows/process_creation/proc_creation_win_whoami_all_execution.yml",
     sysmon_process("C:\\Windows\\System32\\WHOAMI.EXE", "whoami /ALL"),  # Sigma is case-insensitive
     sysmon_process("C:\\Windows\\System32\\whoami.exe", "whoami /priv")),
    ("windows/process_creation/proc_creation_win_whoami_all_execution.yml",
     security_4688("C:\\Windows\\System32\\whoami.exe", "whoami -all"),
     security_4688("C:\\Windows\\System32\\notepad.exe", "notepad -all")),
]


@pytest.mark.parametrize(("rule_path", "positive", "negative"), CASES,
                         ids=[f"{c[0].rsplit('/', 1)[-1]}-{i}" for i, c in enumerate(CASES)])
def test_real_rule_matches_only_the_positive_event(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str], corpus_rule: Callable[[str], str],
    rule_path: str, positive: dict[str, Any], negative: dict[str, Any],
) -> None:
    rule = convert_rule(corpus_rule(rule_path))
    assert rule.ok, rule.problems
    positive = {**positive, "tags": ["positive"]}
    index = event_index([positive, {**negative, "tags": ["negative"]}])
    hits = es.search(index=index, query={"bool": {"filter": [rule.query]}})["hits"]["hits"]
    assert [h["_source"]["tags"] for h in hits] == [["positive"]], rule.lucene
