"""nginx error log to ECS.

``2023/05/01 12:34:56 [error] 1234#5678: *9 open() "/x" failed (2: ...), client: 1.2.3.4,
server: example.com, request: "GET /x HTTP/1.1", host: "example.com"``
The context after the message is appended by nginx as ``, key: value``;
times carry no zone (server local time, ``ParseContext.tz``).
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import datetime

from . import web
from .base import Doc, ParseContext, isoformat_utc, put, put_event, to_int

name = "nginx_error"
programs = ("nginx",)  # error lines sent to syslog keep their own timestamp
bare = True

_LINE = re.compile(
    r"(?P<ts>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>[a-z]{1,6})\] (?P<pid>\d{1,10})#(?P<tid>\d{1,20}):"
    r"(?: \*(?P<conn>\d{1,20}))? (?P<msg>.*)",
    re.DOTALL,
)
_CLIENT = re.compile(r", client: (?P<client>[^,\s]{1,255})")
_SERVER = re.compile(r", server: (?P<server>[^,\s]{0,255})")
_REQUEST = re.compile(r', request: "(?P<request>(?:[^"\\]|\\.){0,8192})"')
_HOST = re.compile(r', host: "(?P<host>[^"\\]{0,255})"')
_ERROR_LEVELS = frozenset({"error", "crit", "alert", "emerg"})


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    m = _LINE.match(message)
    if m is None:
        return False
    with suppress(ValueError):  # 2023/02/30: keep the agent's clock
        local = datetime.strptime(m["ts"], "%Y/%m/%d %H:%M:%S").replace(tzinfo=ctx.tz)
        doc["@timestamp"] = isoformat_utc(local)
    msg = m["msg"]
    put(doc, "message", msg)
    put(doc, "log.level", m["level"])
    put(doc, "process.pid", to_int(m["pid"]))
    put(doc, "process.thread.id", to_int(m["tid"]))
    put(doc, "nginx.error.connection_id", to_int(m["conn"]))
    _put_context(doc, msg)
    put_event(doc, dataset="nginx.error", category=["web"],
              type=["error"] if m["level"] in _ERROR_LEVELS else ["info"])
    return True


def _put_context(doc: Doc, msg: str) -> None:
    if client := _CLIENT.search(msg):
        web.put_client(doc, client["client"])
    if server := _SERVER.search(msg):
        put(doc, "destination.domain", server["server"])
    if request := _REQUEST.search(msg):
        web.put_request(doc, request["request"])
    if host := _HOST.search(msg):
        put(doc, "url.domain", host["host"])
