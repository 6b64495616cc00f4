"""Normalising observables so the same indicator is recognised across incidents."""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import ip_address
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from incidents.models import ObservableKind

_HASH = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{40}$|^[0-9a-f]{64}$|^[0-9a-f]{128}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")


def observable_normalise(kind: str, raw: str) -> str:
    """The canonical text of an observable; ValidationError with a reason when it is not one."""
    value = raw.strip()
    if not value:
        raise ValidationError("An observable needs a value.")
    if len(value) > 2048:
        raise ValidationError("An observable is at most 2048 characters.")
    normalise = _NORMALISERS.get(kind)
    if normalise is None:
        raise ValidationError(f"Unknown observable kind '{kind}'.")
    return normalise(value)


def _ip(value: str) -> str:
    try:
        return str(ip_address(value.strip("[]")))
    except ValueError as exc:
        raise ValidationError(f"'{value}' is not an IP address.") from exc


def _domain(value: str) -> str:
    domain = value.rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValidationError(f"'{value}' is not a domain name.") from exc
    if not _DOMAIN.match(domain):
        raise ValidationError(f"'{value}' is not a domain name.")
    return domain


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https", "ftp") or not parts.hostname:
        raise ValidationError(f"'{value}' is not an http(s) or ftp URL.")
    netloc = _domain(parts.hostname) if not _is_ip(parts.hostname) else parts.hostname
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def _is_ip(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


def _hash(value: str) -> str:
    digest = value.lower()
    if not _HASH.match(digest):
        raise ValidationError(f"'{value}' is not an MD5, SHA-1, SHA-256 or SHA-512 hash.")
    return digest


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValidationError(f"'{value}' is not an e-mail address.")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{_domain(domain)}"


def _account(value: str) -> str:
    # Windows accounts are case-insensitive (DOMAIN\\user); Unix ones are not, so keep case.
    return value if "\\" not in value else value.lower()


def _host(value: str) -> str:
    return _ip(value) if _is_ip(value) else _domain(value)


_NORMALISERS: dict[str, Callable[[str], str]] = {
    ObservableKind.IP: _ip, ObservableKind.DOMAIN: _domain, ObservableKind.URL: _url,
    ObservableKind.HASH: _hash, ObservableKind.ACCOUNT: _account, ObservableKind.HOST: _host,
    ObservableKind.EMAIL: _email,
}


# Where each kind of observable lives in our ECS events, for the pivot to event search.
PIVOT_FIELDS: dict[str, tuple[str, ...]] = {
    ObservableKind.IP: ("source.ip", "destination.ip"), ObservableKind.DOMAIN: ("url.domain", "dns.question.name"),
    ObservableKind.URL: ("url.full",), ObservableKind.HASH: ("file.hash.md5", "file.hash.sha1", "file.hash.sha256"),
    ObservableKind.ACCOUNT: ("user.name",), ObservableKind.HOST: ("host.name",), ObservableKind.EMAIL: ("user.email",),
}


def pivot_query(kind: str, value: str) -> str:
    """An event-search query for this observable (quoted: the value is data, never query syntax)."""
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " OR ".join(f"{field}:{quoted}" for field in PIVOT_FIELDS.get(kind, ()))
