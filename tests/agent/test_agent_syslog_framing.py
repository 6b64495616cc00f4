"""Syslog framing, timestamps and the generic fallback."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from collectors.agent.parsers import ParseContext, parse, parse_line
from collectors.agent.parsers.base import ECS_VERSION, get
from collectors.agent.parsers.syslog import infer_year

from .conftest import HCM


def at(moment: str, tz: str = "Asia/Ho_Chi_Minh") -> ParseContext:
    return ParseContext(host="agent-host", tz=ZoneInfo(tz), now=datetime.fromisoformat(moment))


@pytest.mark.parametrize(("now", "month", "day", "clock", "year"), [
    ("2026-01-01T00:30:00+07:00", 12, 31, time(23, 59, 59), 2025),  # last night, read after midnight
    ("2026-01-01T00:30:00+07:00", 1, 1, time(0, 10), 2026),
    ("2025-12-31T23:00:00+07:00", 1, 2, time(1, 0), 2026),  # a sender's clock a day ahead: skew
    ("2025-12-31T23:00:00+07:00", 1, 5, time(1, 0), 2025),  # five days ahead is not skew: last January
    ("2026-07-30T10:00:00+07:00", 7, 31, time(9, 0), 2026),  # tomorrow morning: within 2 days of skew
    ("2026-07-30T10:00:00+07:00", 8, 3, time(9, 0), 2025),
    ("2026-03-01T10:00:00+07:00", 2, 29, time(9, 0), 2024),  # no 29 Feb in 2025 or 2026
])
def test_infer_year_takes_the_latest_year_not_in_the_future(now: str, month: int, day: int, clock: time,
                                                             year: int) -> None:
    assert infer_year(month, day, at(now), clock) == year


def test_the_year_is_judged_in_the_sources_time_zone() -> None:
    # 2025-12-31 20:00 UTC is already 1 January 03:00 in Ho Chi Minh City
    ctx = ParseContext(now=datetime(2025, 12, 31, 20, 0, tzinfo=UTC), tz=HCM)
    doc = parse_line("Dec 31 23:59:00 fw1 kernel: x", ctx)
    assert doc["@timestamp"] == "2025-12-31T16:59:00.000Z"


def test_the_default_time_zone_is_ho_chi_minh_city() -> None:
    ctx = ParseContext(now=datetime(2026, 7, 30, 12, 0, tzinfo=UTC))
    assert parse_line("Jul 30 07:00:00 h kernel: x", ctx)["@timestamp"] == "2026-07-30T00:00:00.000Z"


def test_an_rfc5424_line_keeps_its_offset_and_priority(ctx: ParseContext) -> None:
    line = ('<38>1 2026-07-30T10:00:00.5+07:00 bastion sshd 811 - [meta seq="1" note="a \\] b"] '
            "Accepted password for alice from 10.0.0.5 port 50122 ssh2")
    doc, source = parse(line, ctx)
    assert source == "sshd"
    assert doc["@timestamp"] == "2026-07-30T03:00:00.500Z"
    assert (get(doc, "log.syslog.facility.code"), get(doc, "log.syslog.severity.code")) == (4, 6)
    assert (get(doc, "host.name"), get(doc, "process.pid"), get(doc, "user.name")) == ("bastion", 811, "alice")


def test_a_line_without_hostname_takes_the_agents(ctx: ParseContext) -> None:
    doc, source = parse("Jul 30 10:00:00 sshd[77]: Invalid user x from 10.9.9.9", ctx)
    assert (source, get(doc, "host.name"), get(doc, "process.pid")) == ("sshd", "agent-host", 77)


@pytest.mark.parametrize("line", [
    "Jul 30 10:00:00 host someapp[1]: hello",
    "not syslog at all",
    "",
    "Feb 30 10:00:00 host kernel: impossible date",
])
def test_unknown_lines_become_generic_events_with_every_required_field(ctx: ParseContext, line: str) -> None:
    doc, source = parse(line, ctx)
    assert source in ("generic", "system")
    assert get(doc, "event.original") == line
    assert doc["@timestamp"].endswith("Z")
    assert get(doc, "ecs.version") == ECS_VERSION
    assert get(doc, "host.name") in ("host", "agent-host")
    assert get(doc, "event.kind") == "event"
    if source == "generic":
        assert get(doc, "event.dataset") == "generic"


def test_a_source_can_be_forced_for_a_file_of_known_format(ctx: ParseContext) -> None:
    doc, source = parse('10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"', ctx,
                        source="web_access")
    assert source == "web_access"
    assert get(doc, "http.response.status_code") == 200
