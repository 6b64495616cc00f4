"""The journald input on real journal files (written by systemd-journal-remote), and where there is none."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.agent.journald_input import JOURNAL_DIRS, JournaldInput, JournalRecord, journal_doc
from collectors.agent.parsers import ParseContext
from collectors.agent.parsers.base import get

REMOTE = "/lib/systemd/systemd-journal-remote"


def write_journal(path: Path, messages: list[tuple[str, str]], start: int) -> None:
    """Real journal entries (export format through systemd-journal-remote): (identifier, message) each."""
    if not os.access(REMOTE, os.X_OK) or shutil.which("journalctl") is None:
        pytest.skip("systemd-journal-remote / journalctl absent (Debian package systemd-journal-remote)")
    now = int(time.time() * 1e6)
    export = "".join(
        f"__REALTIME_TIMESTAMP={now + n}\n__MONOTONIC_TIMESTAMP={start + n + 1}\n"
        f"_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=hni-web-01\nSYSLOG_IDENTIFIER={ident}\n"
        f"_PID={4000 + n}\nPRIORITY=6\n_SYSTEMD_UNIT={ident}.service\nMESSAGE={message}\n\n"
        for n, (ident, message) in enumerate(messages, start=start))
    subprocess.run([REMOTE, f"--output={path}", "-"], input=export.encode(), check=True, capture_output=True)


def drain(source: JournaldInput, expected: int, timeout: float = 15) -> list[JournalRecord]:
    got: list[JournalRecord] = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        batch = source.poll(100)
        source.commit(batch)
        got += batch
        time.sleep(0.05)
    return got


def failed(n: int) -> tuple[str, str]:
    return "sshd", f"Failed password for root from 203.0.113.{n} port {40000 + n} ssh2"


def test_entries_become_parsed_ecs_events_with_their_exact_time(tmp_path: Path) -> None:
    write_journal(tmp_path / "a.journal", [failed(7), ("cron", "pam_unix(cron:session): session opened")], 0)
    source = JournaldInput("journal", {"directory": str(tmp_path), "from": "start"}, tmp_path)
    try:
        records = drain(source, 2)
    finally:
        source.close()

    assert len(records) == 2
    doc = journal_doc(records[0].entry, ParseContext(host="collector"))
    assert (get(doc, "event.action"), get(doc, "event.outcome")) == ("ssh_login", "failure")
    assert (get(doc, "source.ip"), get(doc, "user.name"), get(doc, "host.name")) == ("203.0.113.7", "root",
                                                                                     "hni-web-01")
    moment = datetime.fromtimestamp(int(records[0].entry["__REALTIME_TIMESTAMP"]) / 1e6, UTC)
    assert doc["@timestamp"] == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert (get(doc, "process.pid"), get(doc, "systemd.unit")) == (4000, "sshd.service")
    assert records[0].event_id.startswith("journald:") and records[0].event_id != records[1].event_id


def test_a_restart_resumes_after_the_last_spooled_entry(tmp_path: Path) -> None:
    write_journal(tmp_path / "a.journal", [failed(n) for n in range(5)], 0)
    first = JournaldInput("journal", {"directory": str(tmp_path), "from": "start"}, tmp_path)
    try:
        seen = drain(first, 5)
        held = first.poll(10)
    finally:
        first.close()
    write_journal(tmp_path / "b.journal", [failed(n) for n in range(5, 8)], 5)

    again = JournaldInput("journal", {"directory": str(tmp_path), "from": "start"}, tmp_path)
    try:
        more = drain(again, 3)
        time.sleep(0.5)
        more += again.poll(10)
    finally:
        again.close()

    assert held == []
    ids = [r.event_id for r in seen + more]
    assert len(ids) == 8 and len(set(ids)) == 8, "every entry once, across the restart"


def test_without_a_journal_the_input_says_so_and_stays_off(tmp_path: Path) -> None:
    source = JournaldInput("journal", {"directory": str(tmp_path / "none")}, tmp_path)

    assert "no journal directory" in source.status()["error"] and source.poll(10) == []
    if not any(os.path.isdir(d) for d in JOURNAL_DIRS):
        host = JournaldInput("journal", {}, tmp_path)
        assert "no systemd journal" in host.status()["error"] and host.proc is None
