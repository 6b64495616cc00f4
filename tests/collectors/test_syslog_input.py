"""Syslog listeners on real sockets: UDP, TCP with both framings, TLS, and util-linux logger."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.agent.parsers import ParseContext, parse_line
from collectors.agent.syslog_input import Sequence, SyslogInput

RFC5424 = ("<34>1 2026-11-28T08:15:02+07:00 hni-web-01 sshd 811 - - "
           "Failed password for root from 203.0.113.9 port 50022 ssh2")
RFC3164 = "<38>Nov 28 08:15:02 hni-web-01 sshd[811]: Accepted password for admin from 198.51.100.7 port 40000 ssh2"


class Received:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.cond = threading.Condition()

    def __call__(self, messages: list[tuple[str, str]]) -> None:
        with self.cond:
            self.messages += messages
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 10) -> list[str]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.messages) >= count, timeout)
        return [text for text, _ in self.messages]


def listen(protocol: str, received: Received, **spec: Any) -> SyslogInput:
    listener = SyslogInput({"name": protocol, "protocol": protocol, "port": 0, **spec}, received)
    listener.start()
    return listener


@pytest.fixture
def received() -> Received:
    return Received()


@pytest.fixture
def tcp(received: Received) -> Iterator[SyslogInput]:
    listener = listen("tcp", received)
    yield listener
    listener.stop()


@pytest.fixture
def udp(received: Received) -> Iterator[SyslogInput]:
    listener = listen("udp", received)
    yield listener
    listener.stop()


def test_udp_datagrams_are_one_message_each(udp: SyslogInput, received: Received) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(RFC5424.encode() + b"\n", udp.address)
        sock.sendto(RFC3164.encode(), udp.address)

    assert sorted(received.wait(2)) == sorted([RFC5424, RFC3164])
    assert received.messages[0][1] == "127.0.0.1"


def test_tcp_accepts_newline_and_octet_counted_framing_on_one_connection(tcp: SyslogInput,
                                                                         received: Received) -> None:
    multi_line = "<13>1 2026-11-28T08:00:00Z h app - - - first\nsecond line"
    payload = (RFC3164 + "\n").encode() + f"{len(multi_line.encode())} {multi_line}".encode() \
        + (RFC5424 + "\r\n").encode()
    with socket.create_connection(tcp.address) as sock:
        sock.sendall(payload)

    assert received.wait(3) == [RFC3164, multi_line, RFC5424]


def test_hostile_bytes_become_replacement_characters_not_errors(tcp: SyslogInput, received: Received) -> None:
    with socket.create_connection(tcp.address) as sock:
        sock.sendall(b"<13>bad \xff\xfe utf8 and \x00 nul\n" + RFC3164.encode() + b"\n")

    first, second = received.wait(2)
    assert "\ufffd" in first and "\x00" in first
    assert second == RFC3164
    doc = parse_line(first, ParseContext(host="x"))
    assert doc["event"]["original"] == first


def test_an_oversize_tcp_message_is_cut_and_the_next_one_still_arrives(
        tcp: SyslogInput, received: Received, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("collectors.agent.syslog_input.MAX_MESSAGE", 1000)
    with socket.create_connection(tcp.address) as sock:
        sock.sendall(b"<13>" + b"A" * 5000 + b"\n" + RFC3164.encode() + b"\n")

    messages = received.wait(2)
    assert len(messages[0]) <= 1000 and messages[-1] == RFC3164


def test_tls_listener_takes_octet_counted_messages(tmp_path: Path, received: Received) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    listener = listen("tcp", received, tls={"cert": str(cert), "key": str(key)})
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with socket.create_connection(listener.address) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(f"{len(RFC5424)} {RFC5424}".encode())
        assert received.wait(1) == [RFC5424]
        with socket.create_connection(listener.address) as plain:  # not TLS: refused, listener stays up
            plain.sendall(b"<13>plain text\n")
        assert listener.thread is not None and listener.thread.is_alive()
    finally:
        listener.stop()


@pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger is not installed")
@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_util_linux_logger_sends_rfc5424_that_parses(protocol: str, received: Received) -> None:
    listener = listen(protocol, received)
    try:
        flag = "--tcp" if protocol == "tcp" else "--udp"
        subprocess.run(["logger", "--rfc5424", flag, "-n", "127.0.0.1", "-P", str(listener.address[1]),
                        "-t", "sshd", "Failed password for root from 203.0.113.77 port 50022 ssh2"],
                       check=True, timeout=10)
        [message] = received.wait(1)
    finally:
        listener.stop()

    doc = parse_line(message, ParseContext(host="fallback"))
    assert message.startswith("<13>1 ")
    assert doc["process"]["name"] == "sshd"
    assert doc["source"]["ip"] == "203.0.113.77"
    assert doc["event"]["outcome"] == "failure"


def test_the_sequence_is_never_reused_across_restarts(tmp_path: Path) -> None:
    first = Sequence(tmp_path / "seq")
    taken = [first.take(1) for _ in range(5)]

    again = Sequence(tmp_path / "seq")  # as after kill -9: the unsaved part of the block is skipped

    assert again.take(1) > max(taken)
    assert len(set(taken)) == 5


def test_udp_drops_are_counted_when_the_spool_refuses(received: Received) -> None:
    from collectors.agent.spool import SpoolFull

    def full(_: list[tuple[str, str]]) -> None:
        raise SpoolFull("full")

    listener = SyslogInput({"name": "u", "protocol": "udp", "port": 0}, full)
    listener.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(RFC3164.encode(), listener.address)
        deadline = time.monotonic() + 5
        while listener.counters.dropped == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.status()["dropped"] == 1
    finally:
        listener.stop()


def test_a_firewall_line_received_over_udp_keeps_its_own_protocol(tmp_path: Path) -> None:
    from collectors.agent.config import AgentConfig
    from collectors.agent.parsers.base import get
    from collectors.agent.runner import Agent
    from tests.agent.test_agent_firewall import UFW_BLOCK

    (tmp_path / "secret").write_text("col_x")
    agent = Agent(AgentConfig(url="http://127.0.0.1:9", secret_file=str(tmp_path / "secret"),
                              state_dir=str(tmp_path / "state")))
    try:
        agent.reader.spool_syslog("fw", "udp", Sequence(tmp_path / "fw.seq"),
                            [(UFW_BLOCK, "10.0.0.1"), (RFC3164, "10.0.0.2")])
        docs = [r.event["doc"] for r in agent.spool.read_batch(10)]
    finally:
        agent.spool.close()

    assert [get(d, "network.transport") for d in docs] == ["tcp", "udp"]
