"""Apache httpd error log (2.2 and 2.4 formats) to ECS.

2.2: ``[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] message``
2.4: ``[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328] [client 1.2.3.4:5000]
     AH00037: message``
Times carry no zone: they are the server's local time (``ParseContext.tz``).
"""

from __future__ import annotations

import re
from datetime import datetime

from . import web
from .base import Doc, ParseContext, isoformat_utc, put, put_event, to_int

name = "apache_error"
programs = ("httpd", "apache", "apache2")
bare = True

_LINE = re.compile(
    r"\[(?:[A-Z][a-z]{2}) (?P<mon>[A-Z][a-z]{2}) (?P<day>\d\d) (?P<time>\d\d:\d\d:\d\d)"
    r"(?:\.(?P<us>\d{1,6}))? "
    r"(?P<year>\d{4})\] \[(?:(?P<module>[\w-]{1,40}):)?(?P<level>[a-z]{1,10}\d?)\] "
    r"(?:\[pid (?P<pid>\d{1,10})(?::tid (?P<tid>\d{1,20}))?\] )?"
    r"(?:\[client (?P<client>[^\]\s]{1,255})\] )?(?:(?P<code>AH\d{5}): )?(?P<msg>.*)",
    re.DOTALL,
)
_CLIENT_PORT = re.compile(r"(?P<addr>.+):(?P<port>\d{1,5})")
_ERROR_LEVELS = frozenset({"error", "crit", "alert", "emerg"})


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    m = _LINE.match(message)
    if m is None:
        return False
    _put_time(doc, m, ctx)
    put(doc, "message", m["msg"])
    put(doc, "log.level", m["level"])
    put(doc, "apache.error.module", m["module"])
    put(doc, "error.code", m["code"])
    put(doc, "process.pid", to_int(m["pid"]))
    put(doc, "process.thread.id", to_int(m["tid"]))
    if m["client"]:
        _put_client(doc, m["client"])
    is_error = m["level"] in _ERROR_LEVELS
    put_event(doc, dataset=web.dataset(doc, "error", "apache"), category=["web"],
              type=["error"] if is_error else ["info"])
    return True


def _put_time(doc: Doc, m: re.Match[str], ctx: ParseContext) -> None:
    hh, mm, ss = (int(x) for x in m["time"].split(":"))
    try:
        moment = datetime(int(m["year"]), web.MONTHS[m["mon"]], int(m["day"]), hh, mm, ss,
                          int((m["us"] or "0").ljust(6, "0")), tzinfo=ctx.tz)
    except (KeyError, ValueError):
        return
    doc["@timestamp"] = isoformat_utc(moment)


def _put_client(doc: Doc, client: str) -> None:
    # "1.2.3.4", "1.2.3.4:5000", "[::1]:5000" or a bare IPv6 address
    if client.startswith("["):
        addr, _, port = client[1:].partition("]:")
        web.put_client(doc, addr.rstrip("]"), port or None)
        return
    m = _CLIENT_PORT.fullmatch(client) if client.count(":") == 1 else None
    web.put_client(doc, m["addr"] if m else client, m["port"] if m else None)
