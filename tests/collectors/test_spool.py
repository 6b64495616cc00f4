"""The on-disk spool: bounded, checksummed, crash-safe, and nothing leaves it unconfirmed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from collectors.agent.spool import DROP_OLDEST, Record, Spool, SpoolFull


def event(n: int, size: int = 100) -> dict[str, object]:
    return {"id": f"f:{n}", "doc": {"@timestamp": f"2026-11-28T01:00:{n % 60:02d}.000Z", "message": "x" * size}}


def ids(records: list[Record]) -> list[str]:
    return [r.event["id"] for r in records]


def test_records_come_back_in_order_and_stay_until_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000)
    spool.append([event(n) for n in range(10)])

    first = spool.read_batch(4)
    assert ids(first) == ["f:0", "f:1", "f:2", "f:3"]
    assert ids(spool.read_batch(4)) == ids(first), "reading must not remove anything"
    spool.ack(first)
    assert ids(spool.read_batch(100)) == [f"f:{n}" for n in range(4, 10)]
    assert spool.stats().depth == 6


def test_a_restart_resumes_after_the_last_acknowledged_record(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000, segment_bytes=4096)
    spool.append([event(n) for n in range(200)])
    spool.ack(spool.read_batch(150))
    spool.close()

    again = Spool(tmp_path, max_bytes=1_000_000, segment_bytes=4096)

    assert ids(again.read_batch(1000)) == [f"f:{n}" for n in range(150, 200)]
    assert again.stats().depth == 50


def test_acknowledged_segments_are_deleted_from_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000, segment_bytes=4096)
    spool.append([event(n) for n in range(300)])
    before = len(list(tmp_path.glob("*.seg")))

    while batch := spool.read_batch(50):
        spool.ack(batch)

    assert before > 5
    assert len(list(tmp_path.glob("*.seg"))) == 1  # only the one still open for writing
    assert spool.stats().depth == 0


def test_a_torn_last_record_is_truncated_at_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000)
    spool.append([event(n) for n in range(5)])
    spool.close()
    [segment] = tmp_path.glob("*.seg")
    with open(segment, "ab") as fh:  # a crash in the middle of an append
        fh.write(b"\x40\x00\x00\x00\x01\x02")

    again = Spool(tmp_path, max_bytes=1_000_000)

    assert ids(again.read_batch(100)) == [f"f:{n}" for n in range(5)]
    assert again.stats().truncated_bytes == 6
    again.append([event(5)])
    assert ids(again.read_batch(100))[-1] == "f:5"


def test_a_corrupt_segment_is_quarantined_and_reading_goes_on(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000, segment_bytes=4096)
    spool.append([event(n) for n in range(100)])
    segments = sorted(tmp_path.glob("*.seg"))
    with open(segments[1], "r+b") as fh:  # a flipped byte in a sealed segment's body
        fh.seek(40)
        byte = fh.read(1)
        fh.seek(40)
        fh.write(bytes([byte[0] ^ 0xFF]))

    got = []
    while batch := spool.read_batch(10):
        got += ids(batch)
        spool.ack(batch)

    assert (tmp_path / "quarantine" / segments[1].name).exists()
    assert spool.stats().quarantined == 1 and spool.errors
    assert got[0] == "f:0" and got[-1] == "f:99"
    assert len(got) == len(set(got)) < 100


def test_block_policy_refuses_what_does_not_fit_and_writes_none_of_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=20_000)
    spool.append([event(n) for n in range(50)])

    with pytest.raises(SpoolFull):
        spool.append([event(n, size=2000) for n in range(50, 60)])

    assert spool.stats().depth == 50
    assert ids(spool.read_batch(1000))[-1] == "f:49"


def test_drop_oldest_counts_what_it_dropped_with_the_time_range(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=40_000, policy=DROP_OLDEST, segment_bytes=4096)
    for n in range(400):
        spool.append([event(n)])

    report = spool.take_drop_report()

    assert report is not None and report.records > 0
    assert report.first_ts <= report.last_ts
    remaining = ids(spool.read_batch(10_000))
    assert remaining[-1] == "f:399"
    assert report.records + len(remaining) == 400, "every event is either still spooled or counted as dropped"
    assert spool.size() <= 40_000
    assert spool.stats().dropped == report.records


def test_the_byte_limit_holds_whatever_the_backlog(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100_000, policy=DROP_OLDEST, segment_bytes=8192)
    for n in range(3000):
        spool.append([event(n, size=300)])

    on_disk = sum(os.path.getsize(p) for p in tmp_path.glob("*.seg"))
    assert on_disk <= 100_000
    assert spool.size() == on_disk


def test_a_record_carries_its_id_and_its_json_as_spooled(tmp_path: Path) -> None:
    odd: list[dict[str, Any]] = [{"doc": {"message": "id last"}, "id": "f:late"}, {"id": 'quote"and\\back', "doc": {}},
                                 event(7)]
    spool = Spool(tmp_path, max_bytes=1_000_000)
    spool.append(odd)

    records = spool.read_batch(10)

    assert [r.id for r in records] == ["f:late", 'quote"and\\back', "f:7"]
    assert [r.event for r in records] == odd


def test_a_checksummed_body_that_is_not_an_event_is_quarantined(tmp_path: Path) -> None:
    import struct
    import zlib

    spool = Spool(tmp_path, max_bytes=1_000_000)
    spool.append([event(1)])
    body = struct.pack("<Q", 0) + b'["not", "an event"]'
    with open(spool._path(spool.active), "ab") as fh:
        fh.write(struct.pack("<II", len(body), zlib.crc32(body)) + body)

    assert spool.read_batch(10) == []
    assert spool.stats().quarantined == 1
