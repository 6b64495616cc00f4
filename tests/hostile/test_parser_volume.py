"""Every parser under mutated real-looking input, at volume: no crash, ≤ 1 s per message, every rejection counted.

Each source starts from lines of its own format and hypothesis mutates them (inserted bytes of any
Unicode category, cut ranges, tokens from other formats, a range repeated thousands of times). Each
mutated message goes through the registry twice: auto-detected and with the source forced. Whatever
the input, the answer is an event: taken by a parser, or kept whole as a ``generic`` event (a
rejection, counted and tallied per source), or flagged with ``error.message`` when a parser broke.

Short in the suite; `make chaos` runs it with SOC_FUZZ_VOLUME=1 (20,000 examples per source).
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.agent.parsers import ParseContext, parse
from collectors.agent.parsers.base import MAX_LINE, get
from collectors.agent.syslog_input import MAX_MESSAGE, read_frames
from tests.hostile.fuzz import VOLUME, fuzz_settings

BUDGET_S = 1.0  # per message, the bound; the real cost is well under a millisecond
ANY_CHAR = st.characters(blacklist_categories=())  # lone surrogates, NUL, controls, RTL marks
WINDOWS = json.dumps({"Event": {"System": {
    "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4625,
    "TimeCreated": {"#attributes": {"SystemTime": "2026-07-30T03:00:00.1234567Z"}}, "Channel": "Security",
    "Computer": "dc01.corp.example.vn"}, "EventData": {"TargetUserName": "admin", "IpAddress": "203.0.113.9",
                                                       "LogonType": "3", "Status": "0xc000006d"}}})
SURICATA = json.dumps({"timestamp": "2026-07-30T10:00:04.000000+0700", "event_type": "alert",
                       "src_ip": "203.0.113.66", "src_port": 51544, "dest_ip": "10.10.0.5", "dest_port": 80,
                       "proto": "TCP", "alert": {"signature_id": 2100498, "signature": "GPL ATTACK_RESPONSE",
                                                 "severity": 2, "category": "Potentially Bad Traffic"}})
WINDOWS_WITHOUT_ID = WINDOWS.replace('"EventID": 4625, ', "")
SEEDS: dict[str, list[str]] = {
    "sshd": ["Jul 30 10:00:00 hni-app-01 sshd[4242]: Failed password for invalid user admin from 203.0.113.9 "
             "port 52144 ssh2",
             "<38>1 2026-07-30T10:00:00+07:00 hni-app-01 sshd 77 - - Accepted publickey for deploy from "
             "10.0.0.1 port 22 ssh2: RSA SHA256:abc"],
    "su": ["Jun 15 04:06:18 combo su(pam_unix)[21416]: session opened for user cyrus by (uid=0)"],
    "sudo": ["Jul 30 10:00:00 host sudo[1]: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls"],
    "shadow": ["Jul 30 10:00:00 host useradd[9]: new user: name=eve, UID=1001, GID=1001, home=/home/eve, "
               "shell=/bin/bash"],
    "login": ["Jun 14 15:16:01 combo login(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 "
              "tty=NODEVssh ruser= rhost=218.188.2.4", "Jul 30 10:00:00 host login[77]: ROOT LOGIN ON tty2"],
    "ftpd": ["Jun 17 07:07:00 combo ftpd[29504]: connection from 24.54.76.216 (24-54-76-216.bflony.adelphia.net) "
             "at Fri Jun 17 07:07:00 2005"],
    "web_access": ['203.0.113.9 - - [30/Jul/2026:10:00:00 +0700] "GET /wp-login.php?x=1 HTTP/1.1" 404 153 "-" '
                   '"Mozilla/5.0 (X11; Linux x86_64)"'],
    "apache_error": ["[Sun Dec 04 04:47:44 2005] [error] [client 203.0.113.9] File does not exist: /var/www/x"],
    "nginx_error": ['2026/07/30 10:00:02 [error] 31#31: *5 open() "/usr/share/nginx/html/x" failed (2: No such '
                    'file or directory), client: 203.0.113.9, server: _, request: "GET /x HTTP/1.1"'],
    "system": ["Jun 19 04:09:11 combo syslogd 1.4.1: restart.",
               "Jul 30 10:00:00 host kernel: Out of memory: Killed process 1234 (java)"],
    "windows": [WINDOWS, WINDOWS_WITHOUT_ID],
    "suricata": [SURICATA],
}
TOKENS = ["[", "]", "{", "}", '"', "\\", " from ", " port ", " for ", "=", " ; ", ":", "(", ")", "\x00",
          "\ud800", "\u202e", "9" * 30, "-1", "0x", "1e999", "NaN", "::ffff:1.2.3.4", "%n%s", "\r\n", "\t"]
# The suite's per-test timeout is 300 s; at volume one source may take longer on a loaded machine.
pytestmark = pytest.mark.timeout(3600 if VOLUME else 300)
OUTCOMES: dict[str, Counter[str]] = {name: Counter() for name in SEEDS}


@st.composite
def mutated(draw: st.DrawFn, source: str) -> str:
    line = draw(st.sampled_from(SEEDS[source]))
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, len(line)))
        end = draw(st.integers(start, min(len(line), start + 40)))
        op = draw(st.sampled_from(["insert", "delete", "token", "repeat"]))
        if op == "insert":
            line = line[:start] + draw(st.text(ANY_CHAR, max_size=40)) + line[start:]
        elif op == "delete":
            line = line[:start] + line[end:]
        elif op == "token":
            line = line[:start] + draw(st.sampled_from(TOKENS)) + line[end:]
        else:  # long runs: what makes a backtracking regex quadratic
            line = line[:start] + line[start:end] * draw(st.integers(2, 4000)) + line[end:]
    return line


def check_one(line: str, source: str, forced: str | None) -> None:
    ctx = ParseContext(host="agent-host")
    started = time.perf_counter()
    doc, taken = parse(line, ctx, source=forced)
    elapsed = time.perf_counter() - started
    assert elapsed <= BUDGET_S, f"{elapsed:.2f}s for {line[:200]!r}"
    assert doc["@timestamp"].endswith("Z") and get(doc, "ecs.version") and get(doc, "host.name")
    original = get(doc, "event.original")
    assert isinstance(original, str) and len(original) <= MAX_LINE
    if get(doc, "error.message"):
        OUTCOMES[source]["parser_error"] += 1
    elif taken == "generic":
        OUTCOMES[source]["rejected"] += 1  # kept whole as a generic event: counted, not lost
        assert get(doc, "event.dataset") == "generic"
    else:
        OUTCOMES[source]["parsed"] += 1


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    yield
    for source, outcome in OUTCOMES.items():
        if outcome:
            print(f"\nfuzz {source}: {sum(outcome.values())} messages, {dict(outcome)}", end="")


@pytest.mark.parametrize(("source", "line"), [(source, line) for source, lines in SEEDS.items() for line in lines])
def test_every_seed_is_a_line_its_own_parser_takes(source: str, line: str) -> None:
    assert parse(line, ParseContext(host="agent-host")).source == source


@pytest.mark.parametrize("source", sorted(SEEDS))
def test_every_parser_survives_mutated_input_within_a_second_and_counts_what_it_rejects(source: str) -> None:
    before = sum(OUTCOMES[source].values())
    runs = 0

    @fuzz_settings(short=150)
    @given(line=mutated(source))
    def run(line: str) -> None:
        nonlocal runs
        runs += 1
        check_one(line, source, None)
        check_one(line, source, source)

    started = time.monotonic()
    run()
    assert sum(OUTCOMES[source].values()) - before == 2 * runs  # every message has exactly one outcome
    assert OUTCOMES[source]["parser_error"] == 0  # the registry keeps the event, but a parser must not raise
    print(f"\nfuzz {source}: {runs} examples in {time.monotonic() - started:.1f}s", end="")


@fuzz_settings(short=150)
@given(st.lists(st.one_of(st.binary(max_size=200), mutated("sshd").map(lambda s: s.encode(errors="surrogatepass")),
                          st.builds(lambda n, tail: f"{n} ".encode() + tail, st.integers(0, 10**7),
                                    st.binary(max_size=100))), max_size=20))
def test_syslog_stream_framing_never_raises_and_bounds_every_message(chunks: list[bytes]) -> None:
    stream = b"".join(chunk + b"\n" for chunk in chunks)
    started = time.perf_counter()
    messages = list(read_frames(io.BufferedReader(io.BytesIO(stream))))
    assert time.perf_counter() - started <= BUDGET_S
    assert all(len(m) <= MAX_MESSAGE for m in messages)
    assert sum(len(m) for m in messages) <= len(stream)
