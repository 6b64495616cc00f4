"""Syslog framing: RFC 3164 (BSD), RFC 5424 and RFC 3339-stamped headers.

The header gives the timestamp, host and program; the program decides which
message parser runs next (see ``parsers.parse_line``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from .base import Doc, ParseContext, isoformat_utc

_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}

# How far ahead of the agent's clock an RFC 3164 line may be (clock skew
# between hosts) before we decide it belongs to the previous year.
FUTURE_SKEW = timedelta(days=2)

# The program (ident) is one token, possibly "name(pam_module)"; two idents
# seen in real logs break that rule and are allowed explicitly:
# "syslogd 1.4.1" (program with a version) and "-- root" (login's ROOT LOGIN).
# The host may be absent ("Jan  1 00:00:00 sshd[1]: ..."): a host never holds
# '[' or ']', so "sshd[1]:" cannot be taken for one.
_PROGRAM = r"(?P<prog>-- [^:\[\]\s]+|[^:\[\]\s]+(?: \d[\d.]*)?)(?:\[(?P<pid>\d{1,10})\])?: ?(?P<msg>.*)"
_RFC3164 = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) "
    r"(?:(?P<host>[^\s\[\]]+) +)?" + _PROGRAM,
    re.DOTALL,
)
# rsyslog's RSYSLOG_FileFormat and journald exports: an RFC 3339 stamp, then as 3164.
_RFC3339 = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) "
    r"(?:(?P<host>[^\s\[\]]+) +)?" + _PROGRAM,
    re.DOTALL,
)
# Structured data: [id k="v" ...] blocks; inside quotes, \] and \" are escaped.
# The alternatives within a block are disjoint, so matching stays linear.
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+) ?(?P<msg>.*)",
    re.DOTALL,
)


@dataclass(frozen=True)
class SyslogHeader:
    timestamp: datetime
    host: str
    program: str
    pid: int | None
    message: str
    priority: int | None


def infer_year(month: int, day: int, ctx: ParseContext, at: time = time(0, 0)) -> int:
    """RFC 3164 has no year: take the latest one that does not put the event in the future.

    A little future is allowed (``FUTURE_SKEW``) for clocks that disagree; so
    a 31 December line read on 1 January is last year's, and a 2 January line
    read on 31 December (skewed clock) is next year's. 29 February goes back
    to the last leap year.
    """
    local_now = ctx.now.astimezone(ctx.tz).replace(tzinfo=None)
    latest = local_now + FUTURE_SKEW
    for year in range(latest.year, latest.year - 9, -1):
        try:
            candidate = datetime.combine(datetime(year, month, day).date(), at)
        except ValueError:  # 29 February in a non-leap year
            continue
        if candidate <= latest:
            return year
    return local_now.year


def _parse_clock(text: str) -> time | None:
    hh, mm, ss = (int(x) for x in text.split(":"))
    return time(hh, mm, ss) if hh < 24 and mm < 60 and ss < 61 else None


def _strip_pri(pri: str | None) -> int | None:
    value = int(pri) if pri else None
    return value if value is not None and value < 192 else None


def parse_rfc3164(line: str, ctx: ParseContext) -> SyslogHeader | None:
    m = _RFC3164.match(line)
    if not m:
        return None
    moment = _rfc3164_moment(m["mon"], m["day"], m["time"], ctx)
    return None if moment is None else _header(m, moment, ctx)


@lru_cache(maxsize=4096)
def _rfc3164_moment(mon: str, day_text: str, clock_text: str, ctx: ParseContext) -> datetime | None:
    """The UTC time of a stamp (None if it is not a date). Cached: the lines of one read cycle (one ``ctx``)
    mostly share their seconds, and this is a third of the cost of a header."""
    month, day, clock = _MONTHS.get(mon), int(day_text), _parse_clock(clock_text)
    if month is None or clock is None or not 1 <= day <= 31:
        return None
    try:
        local = datetime.combine(datetime(infer_year(month, day, ctx, clock), month, day).date(), clock,
                                 tzinfo=ctx.tz)
    except ValueError:  # 31 April
        return None
    return local.astimezone(UTC)


def parse_rfc3339(line: str, ctx: ParseContext) -> SyslogHeader | None:
    m = _RFC3339.match(line)
    if not m:
        return None
    ts = _iso_moment(m["ts"], ctx)
    return None if ts is None else _header(m, ts, ctx)


def _iso_moment(text: str, ctx: ParseContext) -> datetime | None:
    """An RFC 3339 stamp (``Z`` or an offset; the agent's zone when it has neither); None if not a date."""
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=ctx.tz)


def _header(m: re.Match[str], moment: datetime, ctx: ParseContext) -> SyslogHeader:
    return SyslogHeader(
        timestamp=moment.astimezone(UTC), host=m["host"] or "", program=m["prog"],
        pid=int(m["pid"]) if m["pid"] else None, message=m["msg"], priority=_strip_pri(m["pri"]),
    )


def parse_rfc5424(line: str, ctx: ParseContext) -> SyslogHeader | None:
    m = _RFC5424.match(line)
    if not m:
        return None
    ts = _iso_moment(m["ts"], ctx)
    if ts is None:
        return None
    nil = lambda v: "" if v == "-" else v  # noqa: E731
    procid = nil(m["procid"])
    return SyslogHeader(
        timestamp=ts.astimezone(UTC), host=nil(m["host"]), program=nil(m["app"]),
        pid=int(procid) if procid.isascii() and procid.isdigit() and len(procid) < 11 else None,
        message=m["msg"].removeprefix("\ufeff"), priority=_strip_pri(m["pri"]),
    )


def parse_header(line: str, ctx: ParseContext) -> SyslogHeader | None:
    return parse_rfc5424(line, ctx) or parse_rfc3164(line, ctx) or parse_rfc3339(line, ctx)


def base_doc(line: str, header: SyslogHeader | None, ctx: ParseContext) -> Doc:
    """The fields every syslog-framed event carries, parsed or not (built directly: this runs per line)."""
    # event.original is kept even when empty: every event carries it
    doc: Doc = {"@timestamp": isoformat_utc(header.timestamp if header else ctx.now), "event": {"original": line}}
    message, host = (header.message, header.host or ctx.host) if header else (line, ctx.host)
    if message:
        doc["message"] = message
    if host:
        doc["host"] = {"hostname": host, "name": host}
    if header:
        _put_header(doc, header)
    return doc


def _put_header(doc: Doc, header: SyslogHeader) -> None:
    syslog: Doc = {}
    process: Doc = {}
    if header.program:
        syslog["appname"] = process["name"] = header.program
    if header.pid is not None:
        process["pid"] = header.pid
    if header.priority is not None:
        syslog["priority"] = header.priority
        syslog["facility"] = {"code": header.priority // 8}
        syslog["severity"] = {"code": header.priority % 8}
    if syslog:
        doc["log"] = {"syslog": syslog}
    if process:
        doc["process"] = process
