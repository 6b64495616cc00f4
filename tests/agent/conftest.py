"""Shared fixtures for the collector's parser tests: a fixed clock and the public corpus.

The corpus lives beside the clone (../shared/corpus); tests that need it skip
with a reason when it is absent, and never copy it into the repository.
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from collectors.agent.parsers import ParseContext

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def address_field(field: str, value: object) -> str:
    """rhost= is a name when the server resolved it: ECS puts names in source.domain."""
    if field != "source.ip":
        return field
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return "source.domain"
    return field


def corpus_path(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus file {path} is absent (the shared corpus sits beside the clone)")
    return path


def structured_rows(*parts: str) -> Iterator[dict[str, str]]:
    """Loghub's *_structured.csv: one row per log line, with its template id."""
    with corpus_path(*parts).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def raw_lines(*parts: str) -> list[str]:
    return corpus_path(*parts).read_text(encoding="utf-8").splitlines()


@pytest.fixture
def ctx() -> ParseContext:
    # Mid-2026: loghub's undated lines land in 2025 (sshd, Dec) or 2026 (Linux, Jun-Jul).
    return ParseContext(host="agent-host", tz=HCM, now=datetime(2026, 8, 1, 12, 0, tzinfo=UTC))
