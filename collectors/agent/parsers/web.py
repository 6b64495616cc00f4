"""Shared pieces of the web server sources: request lines, timestamps, datasets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from .base import Doc, add_related, get, put, to_int

MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6 = re.compile(r"[0-9a-fA-F:]{2,39}(?:%\w+)?")
_REQUEST = re.compile(r"(?P<method>[A-Za-z_-]{1,20}) (?P<target>\S+)(?: HTTP/(?P<version>[\d.]{1,5}))?$")
_CLF_TIME = re.compile(
    r"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})? ([+-])(\d\d)(\d\d)")
_SERVERS = {"nginx": "nginx", "httpd": "apache", "apache": "apache", "apache2": "apache"}


def dataset(doc: Doc, kind: str, default_server: str) -> str:
    """``nginx.access``, ``apache.error``...; the server is known from the syslog ident, if any."""
    server = _SERVERS.get(str(get(doc, "process.name") or ""), default_server)
    return f"{server}.{kind}"


def put_client(doc: Doc, address: str, port: str | None = None) -> None:
    if _IPV4.fullmatch(address) or (":" in address and _IPV6.fullmatch(address)):
        put(doc, "source.ip", address)
        put(doc, "source.address", address)
        add_related(doc, "ip", address)
    else:
        put(doc, "source.domain", address if address != "-" else None)
    put(doc, "source.port", to_int(port) if port else None)


def put_request(doc: Doc, request: str) -> None:
    """``GET /a?b=1 HTTP/1.1``; anything else (TLS bytes on a plain port, "-") is left in message."""
    m = _REQUEST.match(request)
    if m is None:
        return
    put(doc, "http.request.method", m["method"].upper())
    put(doc, "http.version", m["version"])
    put_url(doc, m["target"])


def put_url(doc: Doc, target: str) -> None:
    put(doc, "url.original", target)
    if target.startswith("/"):
        path, _, query = target.partition("?")
        put(doc, "url.path", path)
        put(doc, "url.query", query)
        return
    try:  # absolute-form, as proxies receive it
        parts = urlsplit(target)
    except ValueError:
        return
    put(doc, "url.scheme", parts.scheme)
    put(doc, "url.domain", parts.hostname)
    put(doc, "url.path", parts.path)
    put(doc, "url.query", parts.query)


def clf_time(text: str) -> datetime | None:
    """Common Log Format time: ``10/Oct/2000:13:55:36 -0700`` (month names are never localised)."""
    m = _CLF_TIME.fullmatch(text)
    if m is None or m[2] not in MONTHS:
        return None
    offset = timedelta(hours=int(m[8]), minutes=int(m[9])) * (-1 if m[7] == "-" else 1)
    try:
        return datetime(int(m[3]), MONTHS[m[2]], int(m[1]), int(m[4]), int(m[5]), int(m[6]),
                        tzinfo=timezone(offset))
    except ValueError:
        return None


def outcome(status: int | None) -> str:
    if status is None:
        return ""
    return "success" if status < 400 else "failure"
