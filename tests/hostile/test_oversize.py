"""Oversize bodies are refused quickly, and the server's memory stays flat (real uvicorn)."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.processes import Platform, platform_serving

MB = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def post_raw(port: int, headers: str, chunks: Any) -> tuple[bytes, float, int]:
    """Send a request by hand; returns (response head, seconds to answer, bytes sent before the answer)."""
    began, sent = time.monotonic(), 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(headers.encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:  # the server answered (and stopped reading)
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        try:
            return sock.recv(4096), time.monotonic() - began, sent
        except ConnectionResetError:
            return b"connection reset before any answer", time.monotonic() - began, sent


@pytest.fixture
def web(transactional_db: None, tmp_path: Path) -> Iterator[Platform]:
    yield from platform_serving(tmp_path, web_only=True)


@pytest.mark.parametrize("size_mb", [31, 100, 10_000])
def test_a_declared_oversize_body_is_refused_before_it_is_sent(web: Platform, size_mb: int) -> None:
    # Bodies under the limit reach the views, whose own limits tests/ingest covers (64 KB events, 413s).
    assert size_mb * MB > settings.MAX_REQUEST_BYTES
    head, seconds, _ = post_raw(web.port, f"POST /api/v1/ingest/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          f"Content-Type: application/json\r\nContent-Length: {size_mb * MB}\r\n\r\n",
                                [])

    assert b" 413 " in head.split(b"\r\n")[0] and seconds < 2


def test_a_chunked_100_mb_body_is_cut_off_and_memory_stays_flat(web: Platform) -> None:
    pid = web.procs["web"].pid
    before = rss_mb(pid)
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB per chunk
    head, seconds, sent = post_raw(web.port, "POST /api/v1/ingest/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                                   (chunk for _ in range(1600)))
    grown = rss_mb(pid) - before

    assert b" 413 " in head.split(b"\r\n")[0], head
    assert sent < 40 * MB, f"server kept reading: {sent / MB:.0f} MB"
    assert grown < 64, f"server memory grew by {grown:.0f} MB"
    assert seconds < 10
