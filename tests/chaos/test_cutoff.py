"""A collector cut off from the platform for an hour of traffic: the spool holds it, then drains, exactly once.

Once the agent has reached the platform, a proxy between them first black-holes every connection (requests that
never get an answer), then resets them. Meanwhile an hour of sshd lines (timestamps spread evenly over
the last hour, written as fast as the disk takes them) lands in the tailed file. Nothing may reach
Elasticsearch while cut off and the agent's spool must hold every line; once the line is back the
spool drains much faster than real time and every line is stored exactly once, at its own time.

The short version runs in the suite; `make chaos` sets SOC_CUTOFF_LINES for a full hour at volume.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from tests.chaos.proxy import CutOffProxy
from tests.chaos.workload import stored_lines, wait_until
from tests.conftest import EnrolledCollector
from tests.processes import Platform
from tests.searchable import searchable_count

LINES = int(os.environ.get("SOC_CUTOFF_LINES", "4000"))
HOUR = 3600.0
MIN_SPEEDUP = 4.0  # an hour of traffic must drain within 15 minutes even on a loaded 2-core box
# The default spool (256 MB) holds ~357,000 sshd events (~750 bytes each), an hour at ~100 lines/s;
# past that the block policy leaves the lines in the file. Here the spool is sized to hold the hour.
SPOOL_BYTES = max(256 * 1024 * 1024, LINES * 1024)
READ_TIMEOUT = 60 + LINES / 2000  # the agent spools ~18,000 lines per CPU-second; a loaded box gives it less


def an_hour_of_lines(start: datetime, first: int, last: int) -> str:
    """Lines first..last-1 of LINES spread evenly over the hour from ``start``; the pid field numbers each."""
    out = []
    for seq in range(first, last):
        stamp = (start + timedelta(seconds=seq * HOUR / LINES)).strftime("%b %e %H:%M:%S")
        out.append(f"{stamp} hni-app-01 sshd[{seq}]: Accepted publickey for deploy from 10.20.{seq % 200}.1 "
                   f"port 22 ssh2\n")
    return "".join(out)


def agent_status(state: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state / "status.json").read_text()))
    except (OSError, ValueError):
        return {}


def spooled(state: Path) -> int:
    return int(agent_status(state).get("counters", {}).get("read", 0))


def stored_count(es: Any) -> int:
    return searchable_count(es, f"{settings.ES_INDEX_PREFIX}events-*")


def time_span(es: Any) -> float:
    index = f"{settings.ES_INDEX_PREFIX}events-*"
    aggs = {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}
    resp = es.search(index=index, size=0, aggs=aggs, allow_no_indices=True)["aggregations"]
    return float(resp["last"]["value"] - resp["first"]["value"]) / 1000


def test_a_cut_off_collector_spools_an_hour_and_drains_it_faster_than_real_time_exactly_once(
        web: Platform, es: Any, hni_collector: EnrolledCollector, tmp_path: Path) -> None:
    proxy = CutOffProxy(web.port)
    proxy.start()
    secret, log, state = tmp_path / "secret", tmp_path / "auth.log", tmp_path / "state"
    secret.write_text(hni_collector.secret)
    log.touch()
    start = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(seconds=HOUR)
    web.spawn("agent", "-m", "collectors.agent", "run", "--url", f"{proxy.url}/api/v1", "--secret-file",
              str(secret), "--path", str(log), "--state-dir", str(state), "--heartbeat", "1",
              "--spool-max-bytes", str(SPOOL_BYTES))
    try:
        assert wait_until(lambda: agent_status(state).get("central", {}).get("ok"), timeout=30), web.logs()
        proxy.set_mode("stall")
        with log.open("a") as fh:
            fh.write(an_hour_of_lines(start, 0, LINES // 2))
        assert wait_until(lambda: proxy.connections["stall"] >= 2, timeout=60), web.logs()  # heartbeat + batch
        proxy.set_mode("drop")  # the stalled requests break; the status file is written again each second
        with log.open("a") as fh:
            fh.write(an_hour_of_lines(start, LINES // 2, LINES))
        assert wait_until(lambda: spooled(state) >= LINES, timeout=READ_TIMEOUT), web.logs()
        assert stored_count(es) == 0
        assert agent_status(state)["spool"]["depth"] == LINES

        proxy.set_mode("open")
        reopened = time.monotonic()
        drained = wait_until(lambda: stored_count(es) >= LINES, timeout=HOUR / MIN_SPEEDUP)
        drain = time.monotonic() - reopened
    finally:
        proxy.stop()
    time.sleep(1)
    total, doubled = stored_lines(es)
    print(f"\ncut-off: {LINES} lines over an hour, connections {dict(proxy.connections)}, "
          f"drained in {drain:.1f}s ({LINES / drain:.0f} lines/s, {HOUR / drain:.0f}x real time)")
    assert drained and total == LINES and doubled == 0, web.logs()
    # each line at its own time, not at the drain's
    assert time_span(es) == pytest.approx(HOUR * (LINES - 1) / LINES, abs=2)
