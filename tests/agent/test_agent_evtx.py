"""Exported .evtx files: the same ECS as the JSON rendering of the same records, each record once."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from collectors.agent.config import AgentConfig
from collectors.agent.evtx_input import EvtxInput, event_id_of, read_records
from collectors.agent.parsers import ParseContext, parse_json_record
from collectors.agent.parsers.base import get
from collectors.agent.runner import Agent

from .conftest import corpus_path
from .test_agent_windows import records_in

ECS_FIELDS = ("event.code", "event.provider", "event.module", "event.dataset", "event.action", "event.category",
              "event.outcome", "winlog.channel", "winlog.record_id", "host.name", "process.executable",
              "process.command_line", "process.pid", "user.name", "user.domain", "source.ip")


def pairs() -> list[tuple[Path, Path]]:
    root = corpus_path("sigma", "regression_data")
    return [(p, p.with_suffix(".json")) for p in sorted(root.rglob("*.evtx")) if p.with_suffix(".json").exists()]


def same_value(rendered: Any, ours: Any) -> bool:
    """evtx_dump writes GUIDs upper case without braces, hex without leading zeros, and trims trailing blanks."""
    def norm(value: Any) -> str:
        text = str(value).strip().strip("{}").lower()
        if text.startswith("0x"):
            try:
                return hex(int(text, 16))
            except ValueError:
                pass
        return text
    return norm(rendered) == norm(ours)


def test_every_evtx_sample_gives_the_ecs_of_its_json_rendering(ctx: ParseContext) -> None:
    files = pairs()
    assert len(files) >= 200
    records = fields = 0
    for evtx, rendered in files:
        ours = [record for _, record in read_records(str(evtx))]
        theirs = records_in(rendered)
        assert len(ours) == len(theirs), evtx
        for mine, reference in zip(ours, theirs, strict=True):
            doc, expected = parse_json_record(mine, ctx), parse_json_record(reference, ctx)
            for name in ECS_FIELDS:
                assert same_value(get(expected, name), get(doc, name)), (evtx, name)
            assert doc["@timestamp"][:19] == expected["@timestamp"][:19] and doc["@timestamp"].endswith("Z")
            data = get(doc, "winlog.event_data") or {}
            for name, value in (get(expected, "winlog.event_data") or {}).items():
                assert same_value(value, data[name]), (evtx, name)
                fields += 1
            records += 1
    assert records >= 230 and fields >= 4000


def test_text_keeps_its_carriage_returns_and_trailing_blanks() -> None:
    evtx = next(p for p, _ in pairs() if "CommandLine" in str(records_in(p.with_suffix(".json"))))
    for _, record in read_records(str(evtx)):
        data = record["Event"]["EventData"]["Data"]
        assert all(isinstance(item, dict) and "Name" in item["#attributes"] for item in data)


def copy_samples(dest: Path, count: int) -> list[Path]:
    chosen = [p for p, _ in pairs()][:count]
    dest.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(p, dest / f"{n}-{p.name}")) for n, p in enumerate(chosen)]


def drain(source: EvtxInput, limit: int = 3) -> list[str]:
    ids: list[str] = []
    while batch := source.poll(limit):
        source.commit(batch)
        ids += [r.event_id for r in batch]
    return ids


def test_each_record_is_read_once_across_polls_and_restarts(tmp_path: Path) -> None:
    files = copy_samples(tmp_path / "in", 6)
    expected = sum(1 for f in files for _ in read_records(str(f)))
    first = EvtxInput("ex", [str(tmp_path / "in" / "*.evtx")], tmp_path)
    head = first.poll(2)
    first.commit(head[:1])  # one spooled, then the agent stops

    again = EvtxInput("ex", [str(tmp_path / "in" / "*.evtx")], tmp_path)
    ids = [head[0].event_id, *drain(again)]

    assert len(ids) == expected and len(set(ids)) == expected
    os.utime(files[0])  # touched, nothing new in it
    assert drain(EvtxInput("ex", [str(tmp_path / "in" / "*.evtx")], tmp_path)) == []


def test_the_same_record_in_two_exports_has_one_id(tmp_path: Path) -> None:
    [original] = copy_samples(tmp_path / "a", 1)
    shutil.copy(original, tmp_path / "a" / "re-export.evtx")

    ids = drain(EvtxInput("ex", [str(tmp_path / "a" / "*.evtx")], tmp_path))

    assert len(ids) == 2 * len(set(ids)) and all(i.startswith("evtx:") for i in ids)


def test_a_file_that_is_not_evtx_is_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "bad.evtx").write_bytes(b"MZ\x90\x00 not an event log" * 100)
    copy_samples(tmp_path, 1)
    source = EvtxInput("ex", [str(tmp_path / "*.evtx")], tmp_path)

    ids = drain(source)

    assert ids and "bad.evtx" in source.status()["error"]


def test_the_agent_spools_evtx_records_as_windows_events(tmp_path: Path) -> None:
    copy_samples(tmp_path / "in", 2)
    (tmp_path / "secret").write_text("col_x")
    agent = Agent(AgentConfig(url="http://127.0.0.1:9", secret_file=str(tmp_path / "secret"),
                              state_dir=str(tmp_path / "state"),
                              inputs=[{"type": "evtx", "name": "ex", "paths": [str(tmp_path / "in" / "*.evtx")]}]))
    try:
        read = agent.read_files_once()
        batch = agent.spool.read_batch(100)
    finally:
        agent.spool.close()

    assert read == len(batch) > 0
    assert all(r.event["id"].startswith("evtx:") and get(r.event["doc"], "winlog.channel") for r in batch)
    assert agent.read_files_once() == 0, "nothing new: nothing spooled again"


def sysmon_records(count: int) -> list[dict[str, Any]]:
    """``count`` real Sysmon records of the corpus, each from a different sample."""
    found: list[dict[str, Any]] = []
    for evtx, _ in pairs():
        record = next((r for _, r in read_records(str(evtx))
                       if r["Event"]["System"].get("Channel") == "Microsoft-Windows-Sysmon/Operational"), None)
        if record is not None:
            found.append(record)
        if len(found) == count:
            break
    return found


def renumbered(record: dict[str, Any], number: str) -> dict[str, Any]:
    """The record as a log cleared and written again would number it: same host and channel, a new count."""
    copy = json.loads(json.dumps(record))
    copy["Event"]["System"]["EventRecordID"] = number
    copy["Event"]["System"]["Computer"] = "WS-01.corp.local"
    return copy


def test_different_records_that_share_a_number_after_a_log_clear_keep_different_ids() -> None:
    records = [renumbered(r, "1") for r in sysmon_records(20)]
    assert len(records) == 20

    ids = {event_id_of(r, "fallback") for r in records}

    assert len(ids) == 20, "one id per distinct record, though host, channel and number are all the same"
    assert all(i.startswith("evtx:WS-01.corp.local:Microsoft-Windows-Sysmon_Operational:1:") for i in ids)
    assert event_id_of(renumbered(records[0], "1"), "fallback") == event_id_of(records[0], "fallback")


def test_a_double_star_glob_reads_the_exports_in_every_subfolder(tmp_path: Path) -> None:
    copy_samples(tmp_path / "case" / "host-a" / "2024", 2)
    copy_samples(tmp_path / "case" / "host-b", 1)
    copy_samples(tmp_path / "case", 1)
    expected = sum(1 for f in (tmp_path / "case").rglob("*.evtx") for _ in read_records(str(f)))

    source = EvtxInput("ex", [str(tmp_path / "case" / "**" / "*.evtx")], tmp_path)

    ids = drain(source)

    assert len(ids) == expected
    assert {Path(p).parent.name for p in source.done} == {"2024", "host-b", "case"}
