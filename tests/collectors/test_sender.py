"""The agent's delivery loop against a scripted central side on a real socket.

The central side here is a small HTTP server that answers as the ingest API
does (per-event statuses, 429 with Retry-After, 5xx), so the retry rules can
be driven exactly; the real API is exercised in test_agent_delivery.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collectors.agent.__main__ import cmd_status
from collectors.agent.config import AgentConfig, ConfigError, central_overrides, load
from collectors.agent.parsers import ParseContext, parse_json_record
from collectors.agent.runner import Agent
from collectors.agent.sender import Backoff, RateLimiter


class Central:
    """Answers each POST with the next scripted reply: an HTTP status, or a status per event id."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.received: list[list[str]] = []
        self.config: dict[str, Any] = {}
        self.heartbeats: list[dict[str, Any]] = []
        central = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.endswith("/heartbeat"):
                    central.heartbeats.append(json.loads(body))
                    return self.reply(200, {"config": central.config})
                ids = [e["id"] for e in json.loads(body)["events"]]
                central.received.append(ids)
                step = central.script.pop(0) if central.script else "created"
                if isinstance(step, int):
                    return self.reply(step, {"error": {"code": "x", "message": "scripted"}}, retry_after="0")
                self.reply(200, {"results": [{"id": i, "status": step(i) if callable(step) else step}
                                             for i in ids]})

            def reply(self, status: int, body: Any, retry_after: str = "") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if retry_after:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"


@pytest.fixture
def central() -> Iterator[Central]:
    running = Central()
    yield running
    running.server.shutdown()


def make_agent(central: Central, tmp_path: Path, **overrides: Any) -> Agent:
    (tmp_path / "secret").write_text("s")
    config = AgentConfig(url=central.url, secret_file=str(tmp_path / "secret"), state_dir=str(tmp_path / "state"),
                         batch_size=10, senders=1, **overrides)
    agent = Agent(config)
    agent.spool.append([{"id": f"f:{n}", "doc": {"@timestamp": "2026-11-28T00:00:00Z"}} for n in range(25)])
    return agent


REAL_NEXT_DELAY = Backoff.next_delay


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Backoff, "next_delay", lambda self, hint=None: 0.01)


def test_retry_answers_are_resent_until_stored_and_only_then_leave_the_spool(
        central: Central, tmp_path: Path) -> None:
    agent = make_agent(central, tmp_path)
    central.script = [lambda i: "retry" if i == "f:3" else "created", 503, "duplicate"]

    assert agent.send_once() == 25

    assert central.received[0] == [f"f:{n}" for n in range(10)]
    assert central.received[1] == central.received[2] == ["f:3"], "only the unconfirmed event is resent"
    assert agent.spool.stats().depth == 0
    assert agent.counters.transport_errors == 1 and agent.counters.retried == 1


def test_rejected_counts_as_confirmed_because_the_central_side_kept_it(central: Central, tmp_path: Path) -> None:
    agent = make_agent(central, tmp_path)
    central.script = ["rejected"] * 3

    assert agent.send_once() == 25
    assert agent.counters.rejected == 25


def test_nothing_leaves_the_spool_when_stopping_before_confirmation(central: Central, tmp_path: Path) -> None:
    agent = make_agent(central, tmp_path)
    central.script = [429] * 1000
    timer = threading.Timer(0.3, agent.stop.set)
    timer.start()

    assert agent.send_once() == 0

    timer.join()
    assert agent.spool.stats().depth == 25
    assert "HTTP 429" in agent.counters.last_error


def test_a_duplicate_id_in_the_spool_is_sent_once_per_request(central: Central, tmp_path: Path) -> None:
    agent = make_agent(central, tmp_path)
    agent.spool.ack(agent.spool.read_batch(25))
    agent.spool.append([{"id": "same:1", "doc": {}}, {"id": "same:1", "doc": {}}])  # re-read after a crash

    assert agent.send_once() == 2
    assert central.received == [["same:1"]]


def test_central_configuration_from_the_heartbeat_is_applied_and_a_bad_one_refused(
        central: Central, tmp_path: Path) -> None:
    agent = make_agent(central, tmp_path)
    central.config = {"batch_size": 7, "rate_limit": 100,
                      "inputs": [{"type": "file", "name": "x", "paths": [str(tmp_path / "x.log")]}]}
    agent.heartbeat_once()
    assert (agent.config.batch_size, agent.config.rate_limit, list(agent.reader.files)) == (7, 100.0, ["x"])

    central.config = {"batch_size": 0}
    agent.heartbeat_once()

    assert agent.config.batch_size == 7
    assert "batch_size" in agent.counters.last_error
    assert (Path(agent.config.state_dir) / "status.json").exists()


def test_backoff_grows_with_jitter_up_to_its_cap_and_honours_retry_after() -> None:
    backoff = Backoff(base=1.0, cap=8.0)

    delays = [REAL_NEXT_DELAY(backoff) for _ in range(6)]

    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[2] <= 4.0
    assert all(4.0 <= d <= 8.0 for d in delays[3:])
    assert REAL_NEXT_DELAY(backoff, 30.0) == 30.0


def test_the_rate_limiter_makes_senders_wait_for_tokens() -> None:
    slept: list[float] = []
    limiter = RateLimiter(100)

    limiter.wait(100, sleep=slept.append)
    limiter.wait(50, sleep=slept.append)

    assert slept and 0.4 < slept[-1] <= 0.5


@pytest.mark.parametrize(("config", "message"), [
    ({"batch_size": 0}, "batch_size"),
    ({"rate_limit": -1}, "rate_limit"),
    ({"inputs": [{"type": "file", "name": "a", "paths": []}]}, "paths"),
    ({"inputs": [{"type": "syslog", "name": "a", "protocol": "sctp"}]}, "protocol"),
    ({"inputs": [{"type": "file", "name": "a b", "paths": ["x"]}]}, "name"),
    ({"inputs": [{"type": "x", "name": "a"}]}, "type"),
])
def test_an_invalid_central_configuration_is_refused_whole(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        central_overrides(config)


def test_the_local_configuration_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"url": "http://x", "secret_file": "s", "state_dir": "d", "spool": {"max_bytes": 10}}))
    with pytest.raises(ConfigError, match="at least"):
        load(str(path), {})
    path.write_text(json.dumps({"url": "http://x", "secret_file": "s", "state_dir": "d", "typo": 1}))
    with pytest.raises(ConfigError, match="typo"):
        load(str(path), {})


def sysmon_events(count: int) -> list[dict[str, Any]]:
    """Real Sysmon records as the agent spools them, all under one id: a log cleared and written again."""
    from tests.agent.test_agent_evtx import renumbered, sysmon_records

    ctx = ParseContext(host="ws-01", tz=ZoneInfo("UTC"), now=datetime(2026, 8, 1, tzinfo=UTC))
    return [{"id": "evtx:WS-01:Microsoft-Windows-Sysmon_Operational:1", "doc": parse_json_record(
        renumbered(record, "1"), ctx, source="windows")} for record in sysmon_records(count)]


def test_different_events_that_share_an_id_are_all_sent_and_counted(central: Central, tmp_path: Path) -> None:
    agent = make_agent(central, tmp_path)
    agent.spool.ack(agent.spool.read_batch(25))
    events = sysmon_events(5)
    agent.spool.append([*events, events[0]])  # and one true copy, re-read after a crash

    assert agent.send_once() == 6

    [sent] = central.received
    assert len(sent) == len(set(sent)) == 5, "every distinct record went, each under an id of its own"
    assert sent[0] == events[0]["id"] and all(i.startswith(events[0]["id"] + ":") for i in sent[1:])
    c = agent.counters
    assert (c.sent, c.created, c.duplicate, c.renamed) == (6, 5, 1, 4)
    assert c.created + c.duplicate + c.rejected == c.sent


def test_a_renamed_event_keeps_its_new_id_on_every_resend(central: Central, tmp_path: Path) -> None:
    agent = make_agent(central, tmp_path)
    agent.spool.ack(agent.spool.read_batch(25))
    agent.spool.append(sysmon_events(2))
    central.script = [503, "created"]

    assert agent.send_once() == 2

    assert central.received[0] == central.received[1] and len(set(central.received[0])) == 2


def run_once(agent: Agent) -> None:
    thread = threading.Thread(target=agent.run, kwargs={"once": True})
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "a --once run over a finished file must end"


def test_a_finished_once_run_says_so_to_the_central_side_and_in_its_status(
        central: Central, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.log").write_text("Nov 28 08:15:02 hni-web-01 sshd[811]: Failed password for root\n" * 3)
    agent = make_agent(central, tmp_path, heartbeat_seconds=0.2, poll_seconds=0.05,
                       inputs=[{"type": "file", "name": "a", "paths": [str(tmp_path / "a.log")]}])

    run_once(agent)

    assert central.heartbeats[-1]["state"] == "finished"
    assert cmd_status(argparse.Namespace(state_dir=str(tmp_path / "state"), json=False)) == 0
    shown = capsys.readouterr().out
    assert "finished" in shown and "NOT running" not in shown and "central: reachable" in shown
    assert "read 3, sent 28, created 28, duplicate 0" in shown


def test_status_after_a_stopped_run_says_why_the_central_side_was_unreachable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "secret").write_text("s")
    agent = Agent(AgentConfig(url="http://127.0.0.1:9/api/v1", secret_file=str(tmp_path / "secret"),
                              state_dir=str(tmp_path / "state")))
    agent.heartbeat_once()
    agent.shutdown([])

    assert cmd_status(argparse.Namespace(state_dir=str(tmp_path / "state"), json=False)) == 3
    shown = capsys.readouterr().out
    assert "stopped" in shown and "NOT running" not in shown
    assert "central: UNREACHABLE at " in shown and "Connection refused" in shown


def test_a_stop_signal_arriving_inside_another_stops_the_agent_without_deadlock(tmp_path: Path) -> None:
    """Ctrl-C's SIGINT and then the service manager's SIGTERM: the second handler runs in the main thread while the
    first may be inside ``stop.set()``, holding the event's lock. The handler takes no lock, and the agent stops."""
    (tmp_path / "secret").write_text("s")
    agent = Agent(AgentConfig(url="http://127.0.0.1:9/api/v1", secret_file=str(tmp_path / "secret"),
                              state_dir=str(tmp_path / "state"), poll_seconds=0.05, heartbeat_seconds=3600))
    with agent.stop._cond:  # type: ignore[attr-defined]  # where the first handler's ``set`` would be
        handler = threading.Thread(target=agent.request_stop)
        handler.start()
        handler.join(timeout=5)
        assert not handler.is_alive()

    running = threading.Thread(target=agent.run)
    running.start()
    running.join(timeout=30)
    assert not running.is_alive() and agent.stop.is_set()
