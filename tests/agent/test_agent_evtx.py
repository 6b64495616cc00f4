"""Exported .evtx files: the same ECS as the JSON rendering of the same records, each record once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from collectors.agent.config import AgentConfig
from collectors.agent.evtx_input import EvtxInput, read_records
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
