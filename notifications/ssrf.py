"""The one check for outgoing URLs: no loopback, private, link-local or otherwise internal targets.

The host is resolved once and the connection is made to the address that
was checked (``SafeTarget.address``), so DNS rebinding between check and use
cannot redirect a webhook inside the network. Redirects are not followed
blindly: each ``Location`` goes through this check again.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """The URL is malformed or points somewhere a webhook must not go."""


@dataclass(frozen=True)
class SafeTarget:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def webhook_url_check(url: str, *, allow_private: bool = False) -> SafeTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("webhook URLs must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise UnsafeUrl("webhook URLs must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError) as exc:
        raise UnsafeUrl(f"cannot resolve {parts.hostname}: {exc}") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise UnsafeUrl(f"{parts.hostname} has no address")
    internal = [a for a in addresses if _is_internal(ipaddress.ip_address(a.split("%")[0]))]
    if internal and not allow_private:
        raise UnsafeUrl(f"{parts.hostname} resolves to an internal address ({internal[0]})")
    path = parts.path or "/"
    return SafeTarget(scheme=parts.scheme, host=parts.hostname, port=port,
                      path=f"{path}?{parts.query}" if parts.query else path, address=addresses[0])
