"""Apache and nginx access logs (Common and Combined Log Format) to ECS web events.

Quoted fields may hold escaped quotes (``\\"``) because both servers escape
them; the quoted-string pattern has disjoint alternatives, so it stays linear.
"""

from __future__ import annotations

import re

from . import web
from .base import Doc, ParseContext, add_related, isoformat_utc, put, put_event, to_int

name = "web_access"
programs = ("nginx", "httpd", "apache", "apache2")
bare = True

_QUOTED = r'"(?P<{}>(?:[^"\\]|\\.)*)"'
_CLF = re.compile(
    r"(?P<client>[^\s\[\]\"]{1,255}) (?P<ident>\S{1,255}) (?P<user>\S{1,255}) \[(?P<time>[^\]]{1,40})\] "
    + _QUOTED.format("request")
    + r" (?P<status>\d{3}|-) (?P<bytes>\d{1,20}|-)"
    + r"(?: " + _QUOTED.format("referrer") + " " + _QUOTED.format("agent") + ")?",
)


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    m = _CLF.match(message)
    if m is None:
        return False
    moment = web.clf_time(m["time"])
    if moment is not None:
        doc["@timestamp"] = isoformat_utc(moment)
    web.put_client(doc, m["client"])
    if m["user"] != "-":
        put(doc, "user.name", m["user"])
        add_related(doc, "user", m["user"])
    web.put_request(doc, m["request"])
    status = to_int(m["status"])
    put(doc, "http.response.status_code", status)
    put(doc, "http.response.body.bytes", to_int(m["bytes"]))
    if m["referrer"] not in (None, "-"):
        put(doc, "http.request.referrer", m["referrer"])
    if m["agent"] not in (None, "-"):
        put(doc, "user_agent.original", m["agent"])
    put_event(doc, dataset=web.dataset(doc, "access", "web"), action="http_request", category=["web"],
              type=["access"], outcome=web.outcome(status))
    return True
