"""Hostile input: parse_line never raises and stays fast, whatever the bytes."""

from __future__ import annotations

import gc
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.agent.parsers import TEXT_SOURCES, ParseContext, parse, parse_line
from collectors.agent.parsers.base import MAX_LINE, get

# Generous against a busy CI machine; a regex gone quadratic on 64 KiB takes seconds.
BUDGET_S = 0.05
PROGRAMS = sorted({p for s in TEXT_SOURCES for p in s.programs})
ANY_CHAR = st.characters(blacklist_categories=())  # includes lone surrogates and NUL
HEADERS = st.sampled_from([
    "Jul 30 10:00:00 host {p}[1]: ", "<13>Jul  3 10:00:00 host {p}: ", "<34>1 2026-07-30T10:00:00Z host {p} 1 - - ",
    "2026-07-30T10:00:00+07:00 host {p}[9]: ", "Jun 14 15:16:01 combo {p}(pam_unix)[1]: ", "",
])
PREFIXES = st.sampled_from([
    "", "Invalid user ", "Failed password for invalid user ", "pam_unix(sshd:auth): authentication failure; ",
    "session opened for user ", "1.2.3.4 - - [", '1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET ', "[Sun Dec 04 ",
    "2026/07/30 10:00:02 [error] 1#1: ", '{"event_type": "alert", "timestamp": ', '{"Event": {"System": ',
    "alice : TTY=pts/0 ; ", "new user: name=", "(to root) ", "connection from ",
])


def timed_parse(line: str, ctx: ParseContext) -> float:
    """CPU seconds of this thread for one parse, the garbage collector paused: a backtracking regex burns CPU,
    while the wall clock on a shared, loaded box also counts other processes (it failed this way at 80 ms)."""
    gc.disable()
    try:
        start = time.thread_time()
        doc = parse_line(line, ctx)
        elapsed = time.thread_time() - start
    finally:
        gc.enable()
    assert doc["@timestamp"].endswith("Z")
    assert get(doc, "ecs.version") and get(doc, "event.dataset") and get(doc, "event.kind")
    assert get(doc, "host.name")
    assert isinstance(get(doc, "event.original"), str)
    return elapsed


@settings(max_examples=400, deadline=None)
@given(header=HEADERS, program=st.sampled_from(PROGRAMS), prefix=PREFIXES, tail=st.text(ANY_CHAR, max_size=300))
def test_any_line_parses_without_error_within_budget(header: str, program: str, prefix: str, tail: str) -> None:
    ctx = ParseContext(host="agent-host")
    assert timed_parse(header.format(p=program) + prefix + tail, ctx) < BUDGET_S


@settings(max_examples=200, deadline=None)
@given(st.text(ANY_CHAR, max_size=2000))
def test_any_text_at_all_parses(line: str) -> None:
    assert timed_parse(line, ParseContext(host="agent-host")) < BUDGET_S


MEGABYTE = 1024 * 1024


@pytest.mark.parametrize("line", [
    "Jul 30 10:00:00 host sshd[1]: Invalid user " + " from 1" * (MEGABYTE // 7),
    "Jul 30 10:00:00 host sshd[1]: Failed password for invalid user " + "a" * MEGABYTE + " from x",
    "Jul 30 10:00:00 host sshd[1]: " + "1" * MEGABYTE,
    "<34>1 2026-07-30T10:00:00Z host app 1 - " + "[" * MEGABYTE,
    "<34>1 2026-07-30T10:00:00Z host app 1 - [a " + '"\\' * (MEGABYTE // 2),
    '1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "' + "\\" * MEGABYTE,
    "2026/07/30 10:00:02 [error] 1#1: " + ", client: " * (MEGABYTE // 10),
    "Jul 30 10:00:00 host sudo[1]: a : " + " ; " * (MEGABYTE // 3) + "COMMAND=x",
    "Jul 30 10:00:00 host " + " " * MEGABYTE,
    "\x00" * MEGABYTE,
    "\ud800" * MEGABYTE,
    "[" * MEGABYTE,
    "{" * MEGABYTE,
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
])
def test_adversarial_megabyte_lines_are_cut_and_fast(line: str) -> None:
    ctx = ParseContext(host="agent-host")
    assert timed_parse(line, ctx) < BUDGET_S * 2
    doc = parse_line(line, ctx)
    assert len(get(doc, "event.original")) <= MAX_LINE
    if len(line) > MAX_LINE:
        assert get(doc, "log.flags") == ["truncated"]


def test_a_parser_bug_costs_detail_not_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from collectors.agent.parsers import sshd

    def broken(*args: object) -> bool:
        raise RuntimeError("bug")

    monkeypatch.setattr(sshd, "parse_message", broken)
    doc, source = parse("Jul 30 10:00:00 host sshd[1]: Accepted password for a from 1.2.3.4 port 1 ssh2",
                        ParseContext(host="agent-host"))
    assert source == "generic"
    assert get(doc, "error.message") == "parser error: RuntimeError"
    assert get(doc, "event.original").startswith("Jul 30")
