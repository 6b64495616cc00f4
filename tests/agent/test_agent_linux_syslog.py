"""Linux /var/log/messages (loghub Linux_2k): every line framed, attributed and checked against the templates."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from collectors.agent.parsers import ParseContext, parse
from collectors.agent.parsers.base import get

from .conftest import address_field, raw_lines, structured_rows

# template id -> expected fields; an int is the index of the template's <*> parameter
EXPECTED: dict[str, dict[str, Any]] = {
    "E9": {"source.ip": 0, "user.name": "anonymous", "event.action": "anonymous_login"},
    "E13": {"source.ip": 0, "event.action": "kerberos_login", "event.outcome": "failure"},
    "E14": {"source.ip": 0, "event.action": "kerberos_login", "event.outcome": "failure"},
    "E15": {"event.action": "pam_auth_failure", "system.auth.pam.tty": ":0"},
    "E16": {"source.ip": 0, "event.action": "pam_auth_failure", "event.outcome": "failure"},
    "E17": {"source.ip": 0, "user.name": "guest", "event.outcome": "failure"},
    "E18": {"source.ip": 0, "user.name": "root", "event.outcome": "failure"},
    "E19": {"source.ip": 0, "user.name": "test", "event.outcome": "failure"},
    "E27": {"event.action": "user_unknown", "event.outcome": "failure"},
    "E29": {"source.ip": 0, "source.domain": 1, "event.action": "connection"},
    "E31": {"event.action": "login", "event.outcome": "failure"},
    "E37": {"event.action": "service_stopped"},
    "E38": {"event.action": "service_started"},
    "E61": {"event.action": "kerberos_login", "event.outcome": "failure"},
    "E88": {"source.ip": 0, "event.action": "snmp_packet"},
    "E91": {"event.action": "root_login", "system.auth.tty": "tty2"},
    "E101": {"session_user": 0, "event.action": "session_closed"},
    "E102": {"session_user": 0, "process.real_user.id": 1, "event.action": "session_opened"},
    "E103": {"session_user": 0, "process.real_user.id": 1, "event.action": "session_opened"},
    "E112": {"user.name": "unknown", "event.action": "timeout"},
}


def template_params(template: str, content: str) -> list[str]:
    pattern = "^" + re.escape(template.strip()).replace(re.escape("<*>"), "(.*?)") + r"\s*$"
    m = re.match(pattern, content.strip())
    assert m, f"template {template!r} does not match {content!r}"
    return [p.strip() for p in m.groups()]


def session_user(doc: dict[str, Any]) -> Any:
    """su/sudo sessions name the switched-to account user.effective; others user.name."""
    return get(doc, "user.effective.name") or get(doc, "user.name")


def check_template(doc: dict[str, Any], row: dict[str, str]) -> list[tuple[str, Any, Any]]:
    expected = EXPECTED.get(row["EventId"], {})
    params = template_params(row["EventTemplate"], row["Content"]) if expected else []
    wrong = []
    for field, spec in expected.items():
        want = (params[spec] or None) if isinstance(spec, int) else spec  # empty fields are not written
        field = address_field(field, want)
        have = session_user(doc) if field == "session_user" else get(doc, field)
        if have != want:
            wrong.append((field, have, want))
    return wrong


def test_every_linux_line_is_framed_and_matches_the_ground_truth(ctx: ParseContext) -> None:
    lines = raw_lines("loghub", "Linux", "Linux_2k.log")
    rows = list(structured_rows("loghub", "Linux", "Linux_2k.log_structured.csv"))
    assert len(lines) == len(rows) == 2000
    mismatches = []
    for line, row in zip(lines, rows, strict=True):
        doc, source = parse(line, ctx)
        assert source != "generic", line
        assert get(doc, "host.name") == row["Level"] == "combo"  # loghub's "Level" column is the host
        assert get(doc, "log.syslog.appname") == row["Component"]
        assert get(doc, "process.pid") == (int(row["PID"]) if row["PID"] else None)
        assert get(doc, "message").strip() == row["Content"].strip()
        mismatches += [(row["LineId"], *w, line) for w in check_template(doc, row)]
    assert mismatches == []


def test_linux_lines_go_to_the_source_of_their_program(ctx: ParseContext) -> None:
    sources = Counter(parse(line, ctx).source for line in raw_lines("loghub", "Linux", "Linux_2k.log"))
    assert sources["ftpd"] == 916
    assert sources["sshd"] == 677
    assert sources["su"] == 172
    assert sources["login"] == 46 + 2 + 2 + 1 + 1  # klogind, login(pam_unix), gdm(pam_unix), gdm-binary, -- root
    assert sources["generic"] == 0


def test_su_sessions_name_the_effective_user(ctx: ParseContext) -> None:
    doc, source = parse("Jun 15 04:06:18 combo su(pam_unix)[21416]: session opened for user cyrus by (uid=0)", ctx)
    assert source == "su"
    assert get(doc, "user.effective.name") == "cyrus"
    assert get(doc, "process.real_user.id") == "0"
    assert get(doc, "process.name") == "su"
    assert get(doc, "system.auth.pam.module") == "pam_unix"


def test_a_versioned_ident_is_split_from_its_version(ctx: ParseContext) -> None:
    doc, source = parse("Jun 19 04:09:11 combo syslogd 1.4.1: restart.", ctx)
    assert (source, get(doc, "process.name")) == ("system", "syslogd")
    assert get(doc, "event.action") == "syslog_restarted"
