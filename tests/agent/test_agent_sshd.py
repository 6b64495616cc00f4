"""sshd and its PAM lines: every line of loghub's OpenSSH_2k against the template ground truth."""

from __future__ import annotations

import re
from typing import Any

import pytest

from collectors.agent.parsers import ParseContext, parse, parse_line
from collectors.agent.parsers.base import get

from .conftest import address_field, raw_lines, structured_rows

# template id -> expected fields; an int is the index of the template's <*> parameter
EXPECTED: dict[str, dict[str, Any]] = {
    "E1": {"user.name": 0, "source.ip": 1, "source.port": 2, "event.action": "ssh_login",
           "event.outcome": "success", "system.auth.ssh.method": "password"},
    "E2": {"source.ip": 0, "event.action": "disconnect"},
    "E3": {"source.ip": 0, "event.action": "no_identification", "event.outcome": "failure"},
    "E4": {"user.name": "admin", "event.action": "too_many_failures", "event.outcome": "failure"},
    "E5": {"user.name": "root", "event.action": "too_many_failures", "event.outcome": "failure"},
    "E6": {"source.ip": 0, "event.action": "disconnect"},
    "E7": {"source.ip": 0, "event.action": "disconnect"},
    "E8": {"user.name": 0, "source.ip": 1, "source.port": 2, "event.action": "ssh_login",
           "event.outcome": "failure", "system.auth.ssh.method": "none"},
    "E9": {"user.name": 0, "source.ip": 1, "source.port": 2, "event.action": "ssh_login",
           "event.outcome": "failure"},
    "E10": {"user.name": 0, "source.ip": 1, "source.port": 2, "event.action": "ssh_login",
            "event.outcome": "failure"},
    "E11": {"event.action": "ssh_error"},
    "E12": {"user.name": 0, "event.action": "invalid_user", "event.outcome": "failure"},
    "E13": {"user.name": 0, "source.ip": 1, "event.action": "invalid_user", "event.outcome": "failure"},
    "E14": {"system.auth.repeated": 0, "user.name": "root", "source.ip": 1, "source.port": 2,
            "event.outcome": "failure"},
    "E15": {"system.auth.repeated": 0, "process.real_user.id": 1, "process.user.id": 2, "source.ip": 3,
           "event.outcome": "failure"},
    "E16": {"system.auth.repeated": 0, "process.real_user.id": 1, "source.ip": 3, "event.outcome": "failure"},
    "E17": {"system.auth.repeated": 0, "source.ip": 3, "user.name": "root", "event.outcome": "failure"},
    "E18": {"event.action": "max_retries_exceeded", "event.outcome": "failure"},
    "E19": {"process.real_user.id": 0, "source.ip": 2,
           "event.action": "pam_auth_failure", "event.outcome": "failure"},
    "E20": {"source.ip": 2, "user.name": 3, "event.action": "pam_auth_failure", "event.outcome": "failure"},
    "E21": {"event.action": "user_unknown", "event.outcome": "failure"},
    "E22": {"user.name": 0, "event.action": "session_closed", "event.type": ["end"]},
    "E23": {"user.name": 0, "process.real_user.id": 1,
           "event.action": "session_opened", "event.type": ["start"]},
    "E24": {"source.ip": 0, "event.action": "disconnect"},
    "E25": {"source.ip": 0, "event.action": "disconnect"},
    "E26": {"source.ip": 0, "event.action": "disconnect"},
    "E27": {"source.domain": 0, "source.ip": 1, "event.action": "reverse_mapping_failed"},
}


def template_params(template: str, content: str) -> list[str]:
    pattern = "^" + re.escape(template).replace(re.escape("<*>"), "(.*?)") + r"\s*$"
    m = re.match(pattern, content)
    assert m, f"template {template!r} does not match {content!r}"
    # only the right side: "Invalid user  0101" is a user named " 0101"
    return [p.rstrip() for p in m.groups()]


def expected_value(spec: Any, params: list[str], field: str) -> Any:
    if not isinstance(spec, int):
        return spec
    value = params[spec]
    # loghub folds trailing words into a parameter ("42393 ssh2"): the number is the first token
    return int(value.split()[0]) if field in ("source.port", "system.auth.repeated") else value


def test_every_openssh_line_is_parsed_by_sshd_and_agrees_with_the_templates(ctx: ParseContext) -> None:
    lines = raw_lines("loghub", "OpenSSH", "OpenSSH_2k.log")
    rows = list(structured_rows("loghub", "OpenSSH", "OpenSSH_2k.log_structured.csv"))
    assert len(lines) == len(rows) == 2000
    mismatches = []
    for line, row in zip(lines, rows, strict=True):
        doc, source = parse(line, ctx)
        assert source == "sshd", line
        params = template_params(row["EventTemplate"], row["Content"])
        for field, spec in EXPECTED[row["EventId"]].items():
            field = address_field(field, expected_value(spec, params, field))
            if get(doc, field) != expected_value(spec, params, field):
                mismatches.append((row["LineId"], field, get(doc, field), spec, line))
        assert get(doc, "process.pid") == int(row["Pid"])
        assert get(doc, "host.name") == row["Component"]  # loghub calls the host "Component" here
    assert mismatches == []


def test_openssh_lines_keep_their_local_time_as_utc(ctx: ParseContext) -> None:
    first = raw_lines("loghub", "OpenSSH", "OpenSSH_2k.log")[0]
    # Dec 10 06:55:46 in Ho Chi Minh City (UTC+7), the December before the fixed clock
    assert parse_line(first, ctx)["@timestamp"] == "2025-12-09T23:55:46.000Z"


@pytest.mark.parametrize(("message", "fields"), [
    ("Accepted publickey for alice from 10.0.0.5 port 50122 ssh2: ED25519 SHA256:abcdef",
     {"user.name": "alice", "source.ip": "10.0.0.5", "source.port": 50122, "event.outcome": "success",
      "system.auth.ssh.method": "publickey"}),
    ("Failed password for invalid user a from 6.6.6.6 port 1 ssh2 from 10.1.1.1 port 22 ssh2",
     {"user.name": "a from 6.6.6.6 port 1 ssh2", "source.ip": "10.1.1.1", "source.port": 22}),
    ("Invalid user admin from 2001:db8::7 port 41000",
     {"user.name": "admin", "source.ip": "2001:db8::7", "source.port": 41000,
      "event.action": "invalid_user"}),
    ("Connection closed by authenticating user root 203.0.113.9 port 40222 [preauth]",
     {"user.name": "root", "source.ip": "203.0.113.9", "source.port": 40222, "event.action": "disconnect"}),
    ("Disconnected from user alice 10.0.0.5 port 50122",
     {"user.name": "alice", "source.ip": "10.0.0.5", "event.action": "disconnect"}),
    ("pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
     {"user.name": "alice", "user.id": "1000", "event.action": "session_opened"}),
    ("error: maximum authentication attempts exceeded for root from 198.51.100.4 port 2200 ssh2 [preauth]",
     {"user.name": "root", "source.ip": "198.51.100.4", "event.action": "too_many_failures"}),
    ("Received disconnect from 198.51.100.4 port 2200:11: Bye Bye [preauth]",
     {"source.ip": "198.51.100.4", "source.port": 2200, "event.action": "disconnect"}),
])
def test_it_reads_modern_openssh_messages(ctx: ParseContext, message: str, fields: dict[str, Any]) -> None:
    doc, source = parse(f"2026-07-30T10:00:00.123456+07:00 bastion sshd[811]: {message}", ctx)
    assert source == "sshd"
    assert {f: get(doc, f) for f in fields} == fields
    assert doc["@timestamp"] == "2026-07-30T03:00:00.123Z"
    assert get(doc, "event.dataset") == "system.auth"


def test_an_unknown_sshd_message_falls_back_to_generic(ctx: ParseContext) -> None:
    doc, source = parse("Jul 30 10:00:00 bastion sshd[811]: something sshd never says", ctx)
    assert source == "generic"
    assert get(doc, "event.dataset") == "generic"
    assert get(doc, "event.original").endswith("never says")
