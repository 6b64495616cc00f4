"""File tailing: globs, rename and copytruncate rotation, partial lines, resumable offsets."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from collectors.agent import tail
from collectors.agent.tail import FileInput, Line, OffsetStore


def line(n: int) -> str:
    return f"Nov 28 08:15:{n % 60:02d} hni-web-01 sshd[{n}]: Failed password for root from 203.0.113.9 port {n}\n"


def write(path: Path, lines: range) -> None:
    with open(path, "a") as fh:
        fh.writelines(line(n) for n in lines)


def drain(files: FileInput) -> list[Line]:
    """Read and commit until nothing is new, as the agent does once lines are spooled."""
    got: list[Line] = []
    while batch := files.poll(100):
        files.commit(batch)
        got += batch
    return got


def texts(lines: list[Line]) -> list[str]:
    return [entry.text for entry in lines]


def tailer(tmp_path: Path, pattern: str) -> FileInput:
    return FileInput("t", [str(tmp_path / pattern)], OffsetStore(tmp_path / "state"))


def test_it_reads_complete_lines_and_waits_for_a_partial_last_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, range(3))
    with open(log, "a") as fh:
        fh.write("Nov 28 08:16:00 partial")
    files = tailer(tmp_path, "app.log")

    assert texts(drain(files)) == [line(n) for n in range(3)]
    with open(log, "a") as fh:
        fh.write(" line\n")
    assert texts(drain(files)) == ["Nov 28 08:16:00 partial line\n"]


def test_ids_are_file_identity_and_offset_and_differ_for_identical_lines(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) * 2)

    first, second = drain(tailer(tmp_path, "app.log"))

    assert first.text == second.text
    assert first.event_id == f"{tail.file_identity(str(log))}:0"
    assert second.event_id == f"{tail.file_identity(str(log))}:{len(line(1))}"


def test_it_resumes_from_the_saved_offset_after_a_restart(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, range(5))
    files = tailer(tmp_path, "app.log")
    drain(files)
    files.close()
    write(log, range(5, 8))

    assert texts(drain(tailer(tmp_path, "app.log"))) == [line(n) for n in range(5, 8)]


def test_uncommitted_lines_are_read_again(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, range(4))
    files = tailer(tmp_path, "app.log")

    assert len(files.poll(100)) == 4
    assert len(files.poll(100)) == 4, "the offset moves only on commit (when the spool holds the lines)"


def test_a_saved_offset_beyond_the_size_starts_a_new_generation_from_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, range(10))
    files = tailer(tmp_path, "app.log")
    old_ids = {x.event_id for x in drain(files)}
    files.close()
    with open(log, "r+") as fh:  # truncated while the agent was stopped
        fh.truncate(0)
    write(log, range(100, 102))

    got = drain(tailer(tmp_path, "app.log"))

    assert texts(got) == [line(100), line(101)]
    assert not {x.event_id for x in got} & old_ids, "new lines must not reuse ids of shipped ones"


def test_new_files_matching_the_glob_are_picked_up(tmp_path: Path) -> None:
    write(tmp_path / "a.log", range(2))
    files = tailer(tmp_path, "*.log")
    assert len(drain(files)) == 2

    write(tmp_path / "b.log", range(2, 5))

    assert texts(drain(files)) == [line(n) for n in range(2, 5)]


def test_a_renamed_file_is_read_to_its_end_and_the_new_file_from_its_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail, "IDLE_CLOSE_SECONDS", 0.0)
    log = tmp_path / "app.log"
    write(log, range(3))
    files = tailer(tmp_path, "app.log")
    drain(files)
    with open(log, "a") as writer:  # the writer still holds the old file after the rename
        os.rename(log, tmp_path / "app.log.1")
        writer.writelines(line(n) for n in range(3, 6))
    write(log, range(6, 8))

    got = drain(files)

    assert sorted(texts(got)) == sorted(line(n) for n in range(3, 8))
    assert len(files.files) == 1, "the rotated file is closed once read to its end"


def test_a_file_renamed_while_the_agent_was_stopped_is_still_read_to_its_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail, "IDLE_CLOSE_SECONDS", 0.0)
    log = tmp_path / "app.log"
    write(log, range(3))
    files = tailer(tmp_path, "app.log")
    drain(files)
    files.close()
    write(log, range(3, 5))
    os.rename(log, tmp_path / "app.log.1")
    write(log, range(5, 6))

    assert sorted(texts(drain(tailer(tmp_path, "app.log")))) == sorted(line(n) for n in range(3, 6))


def test_copytruncate_ships_the_tail_from_the_copy_once_and_the_new_lines_once(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, range(5))
    files = tailer(tmp_path, "app.log*")
    shipped = drain(files)
    write(log, range(5, 8))  # written after our last read, before the rotation
    shutil.copyfile(log, tmp_path / "app.log.1")
    with open(log, "r+") as fh:
        fh.truncate(0)
    write(log, range(8, 10))

    shipped += drain(files)

    assert sorted(texts(shipped)) == sorted(line(n) for n in range(10))
    assert len({x.event_id for x in shipped}) == 10


def test_copytruncate_finds_the_copy_even_when_no_glob_matches_it(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, range(5))
    files = tailer(tmp_path, "app.log")
    shipped = drain(files)
    write(log, range(5, 7))
    shutil.copyfile(log, tmp_path / "app.log-20261128")
    with open(log, "r+") as fh:
        fh.truncate(0)
    write(log, range(7, 8))

    shipped += drain(files)

    assert sorted(texts(shipped)) == sorted(line(n) for n in range(8))


def test_an_overlong_line_is_cut_into_bounded_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail, "MAX_LINE_BYTES", 1000)
    (tmp_path / "app.log").write_text("A" * 2500 + "\n" + line(1))

    got = drain(tailer(tmp_path, "app.log"))

    assert max(len(x.text) for x in got) <= 1001
    assert got[-1].text == line(1)
    assert "".join(texts(got)) == "A" * 2500 + "\n" + line(1)


def test_invalid_utf8_and_nul_bytes_do_not_stop_the_file(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_bytes(b"bad \xff\xfe utf8\n" + b"nul \x00 byte\n" + line(1).encode())

    got = drain(tailer(tmp_path, "app.log"))

    assert [x.text for x in got] == ["bad \ufffd\ufffd utf8\n", "nul \x00 byte\n", line(1)]


def test_compressed_rotations_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / "app.log", range(1))
    (tmp_path / "app.log.2.gz").write_bytes(b"\x1f\x8b\x08\x00binary")

    assert len(drain(tailer(tmp_path, "app.log*"))) == 1


def test_a_rotated_file_with_lines_left_is_never_shipped_as_one_blob(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail, "IDLE_CLOSE_SECONDS", 0.0)
    log = tmp_path / "app.log"
    write(log, range(3))
    files = tailer(tmp_path, "app.log")
    drain(files)
    write(log, range(3, 50))
    os.rename(log, tmp_path / "app.log.1")
    write(log, range(50, 60))

    got: list[Line] = []
    while batch := files.poll(5):  # a small budget: the rotated file is visited with none left
        files.commit(batch)
        got += batch

    assert sorted(texts(got)) == sorted(line(n) for n in range(3, 60))
