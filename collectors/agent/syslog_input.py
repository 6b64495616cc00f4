"""Syslog listeners: UDP and TCP (optionally TLS), RFC 3164 and RFC 5424 via the parsers.

TCP accepts both framings of RFC 6587 on the same port, per message:
octet-counted (``<len> <msg>``, what RFC 5425 TLS senders use) and
newline-delimited. A message over ``MAX_MESSAGE`` bytes is cut there.

Event ids are ``<listener id>:<sequence>``. Messages are not replayable, so
the ids only need to be unique: the sequence is persisted in blocks (a
restart skips to the next block), never reused, never a content hash.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collectors.agent.spool import SpoolFull

log = logging.getLogger("soc-agent.syslog")
MAX_MESSAGE = 1024 * 1024
_BLOCK = 10_000

# (message text, sender address) -> None; raises SpoolFull when the spool refuses it
Deliver = Callable[[list[tuple[str, str]]], None]


class Sequence:
    """A persisted, never reused counter: the file holds the end of the current reserved block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        try:
            start = int(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            start = 0
        self.next = start
        self.reserved = start
        self._reserve()

    def _reserve(self) -> None:
        self.reserved = self.next + _BLOCK
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.reserved))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def take(self, count: int) -> int:
        """The first of ``count`` fresh numbers."""
        with self.lock:
            first = self.next
            self.next += count
            if self.next >= self.reserved:
                self._reserve()
            return first


class _Counters:
    def __init__(self) -> None:
        self.received = self.dropped = self.errors = 0


def read_frames(reader: Any) -> Any:
    """Yield messages from a byte stream with octet-counted or newline framing (RFC 6587)."""
    while True:
        first = reader.read(1)
        if not first:
            return
        if first.isdigit():
            digits = first + _read_until(reader, b" ", 10)
            if digits.endswith(b" ") and digits[:-1].isdigit():
                length = int(digits[:-1])
                yield _read_exact(reader, min(length, MAX_MESSAGE))
                if length > MAX_MESSAGE:
                    _skip(reader, length - MAX_MESSAGE)
                continue
            yield (digits + _read_line(reader, MAX_MESSAGE - len(digits))).rstrip(b"\r\n")
            continue
        if first in b"\r\n":
            continue
        yield (first + _read_line(reader, MAX_MESSAGE - 1)).rstrip(b"\r\n")


def _read_until(reader: Any, stop: bytes, limit: int) -> bytes:
    out = b""
    while len(out) < limit:
        ch = reader.read(1)
        if not ch:
            break
        out += ch
        if ch == stop or ch == b"\n":
            break
    return out


def _read_line(reader: Any, limit: int) -> bytes:
    line = reader.readline(limit)
    if len(line) >= limit and not line.endswith(b"\n"):
        while (more := reader.readline(65536)) and not more.endswith(b"\n"):
            pass  # the rest of an oversize line is dropped: the message keeps its first MAX_MESSAGE bytes
    return bytes(line)


def _read_exact(reader: Any, size: int) -> bytes:
    data = reader.read(size)
    return bytes(data or b"")


def _skip(reader: Any, size: int) -> None:
    while size > 0:
        chunk = reader.read(min(size, 65536))
        if not chunk:
            return
        size -= len(chunk)


class SyslogInput:
    """One listener (udp or tcp). ``deliver`` spools a list of (message, sender) pairs."""

    def __init__(self, spec: dict[str, Any], deliver: Deliver) -> None:
        self.spec = spec
        self.name = str(spec["name"])
        self.protocol = str(spec.get("protocol", "udp")).lower()
        if self.protocol not in ("udp", "tcp"):
            raise ValueError(f"syslog input {self.name}: protocol must be udp or tcp")
        self.deliver = deliver
        self.counters = _Counters()
        self.server: socketserver.BaseServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self.server is not None
        address: Any = self.server.server_address
        return str(address[0]), int(address[1])

    def start(self) -> None:
        addr = (str(self.spec.get("host", "127.0.0.1")), int(self.spec.get("port", 0)))
        handler = self._udp_handler() if self.protocol == "udp" else self._tcp_handler()
        server_cls = _UDPServer if self.protocol == "udp" else _TCPServer
        self.server = server_cls(addr, handler)
        if self.protocol == "tcp" and self.spec.get("tls"):
            # The handshake happens on the handler's first read, so a slow client cannot stall accept().
            self.server.socket = self._tls_context().wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name=f"syslog-{self.name}", daemon=True)
        self.thread.start()
        log.info("syslog %s listening on %s/%s", self.name, self.protocol, self.address)

    def _tls_context(self) -> ssl.SSLContext:
        tls = self.spec["tls"]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(tls["cert"], tls["key"])
        if tls.get("client_ca"):
            context.load_verify_locations(tls["client_ca"])
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _udp_handler(self) -> type[socketserver.BaseRequestHandler]:
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = self.request[0]
                listener.counters.received += 1
                try:
                    listener.deliver([(_text(data), self.client_address[0])])
                except SpoolFull:
                    listener.counters.dropped += 1  # UDP cannot push back: counted, reported
        return Handler

    def _tcp_handler(self) -> type[socketserver.StreamRequestHandler]:
        listener = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 300

            def handle(self) -> None:
                try:
                    for message in read_frames(self.rfile):
                        listener.counters.received += 1
                        listener.deliver_blocking([(_text(message), self.client_address[0])])
                except (OSError, ssl.SSLError) as exc:
                    listener.counters.errors += 1
                    log.info("syslog %s: connection from %s ended: %s", listener.name, self.client_address, exc)
        return Handler

    def deliver_blocking(self, messages: list[tuple[str, str]]) -> None:
        """TCP pushes back: while the spool is full, stop reading the connection."""
        while True:
            try:
                self.deliver(messages)
                return
            except SpoolFull:
                time.sleep(0.2)

    def status(self) -> dict[str, Any]:
        c = self.counters
        return {"name": self.name, "type": "syslog", "protocol": self.protocol,
                "listen": f"{self.address[0]}:{self.address[1]}" if self.server else "",
                "received": c.received, "dropped": c.dropped, "errors": c.errors}


def _text(data: bytes) -> str:
    return data.rstrip(b"\r\n\x00").decode("utf-8", "replace")


class _UDPServer(socketserver.UDPServer):
    allow_reuse_address = True
    max_packet_size = 65535


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.warning("syslog: error handling %s", client_address, exc_info=True)
