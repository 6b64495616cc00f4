"""The whole path on real processes: collector → ingest → Elasticsearch → Celery → incident → WebSocket.

Nothing runs in-process or eagerly: uvicorn serves the ASGI app, a Celery
worker and beat run the detection schedule, the collector is its own program,
and the consoles are real WebSocket clients holding real session cookies.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import websockets
from django.test import Client

from detection.models import DetectionRule, RuleKind
from incidents.models import Incident
from soc.management.commands.seed_demo import SSH_BRUTE_FORCE
from tests.conftest import Cast, EnrolledCollector
from tests.processes import Platform


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def write_attack(path: Path, attempts: int) -> None:
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%b %e %H:%M:%S")
    path.write_text("".join(
        f"{now} hni-web-01 sshd[{900 + n}]: Failed password for root from 192.0.2.44 port {41000 + n} ssh2\n"
        for n in range(attempts)))


async def collect(url: str, cookie: str, origin: str, seconds: float, until_first: bool) -> list[dict[str, Any]]:
    """Messages a console receives; with ``until_first``, stop at the first incident.created."""
    received: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=origin) as ws:  # type: ignore[arg-type]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            received.append(json.loads(raw))
            if until_first and received[-1].get("kind") == "incident.created":
                break
    return received


def test_an_ssh_brute_force_reaches_the_right_console_live(
        platform: Platform, cast: Cast, hni_collector: EnrolledCollector, tmp_path: Path) -> None:
    DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params=SSH_BRUTE_FORCE,
                                 severity="high", category="intrusion_attempts", interval_seconds=1)
    ws_url = f"ws://127.0.0.1:{platform.port}/ws/incidents/"
    secret_file = tmp_path / "secret"
    secret_file.write_text(hni_collector.secret)
    log_file = tmp_path / "auth.log"
    write_attack(log_file, attempts=6)

    hni_cookie, hcm_cookie = session_cookie(cast.hni_responder), session_cookie(cast.hcm_responder)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        hni = asyncio.create_task(collect(ws_url, hni_cookie, platform.base, 60, True))
        hcm = asyncio.create_task(collect(ws_url, hcm_cookie, platform.base, 12, False))
        await asyncio.sleep(1)  # both consoles are connected before the attack is shipped
        agent = platform.spawn("agent", "-m", "collectors.agent", "run", "--url", f"{platform.base}/api/v1",
                               "--secret-file", str(secret_file), "--path", str(log_file),
                               "--state-dir", str(tmp_path / "state"), "--once")
        await asyncio.to_thread(agent.wait, 30)
        return await hni, await hcm

    hni_messages, hcm_messages = asyncio.run(scenario())

    assert hni_messages, f"no live message reached the Hà Nội console\n{platform.logs()}"
    created = [m for m in hni_messages if m.get("kind") == "incident.created"]
    assert len(created) == 1, hni_messages
    message = created[0]
    assert message["kind"] == "incident.created"
    assert message["incident"]["province"] == "HNI" and "192.0.2.44" in message["incident"]["title"]
    assert not [m for m in hcm_messages if "HNI" in json.dumps(m)], "a Hồ Chí Minh console saw a Hà Nội incident"
    [incident] = Incident.objects.all()
    assert incident.key == message["incident"]["key"]
    health = json.load(urllib.request.urlopen(f"{platform.base}/healthz", timeout=10))
    assert health["status"] == "up", health


def test_a_console_without_a_session_is_refused(platform: Platform) -> None:
    async def attempt() -> None:
        await collect(f"ws://127.0.0.1:{platform.port}/ws/incidents/", "", platform.base, 2, True)

    with pytest.raises(websockets.exceptions.WebSocketException):
        asyncio.run(attempt())


def test_a_console_from_another_origin_is_refused(platform: Platform, cast: Cast) -> None:
    cookie = session_cookie(cast.analyst)

    async def attempt() -> None:
        await collect(f"ws://127.0.0.1:{platform.port}/ws/incidents/", cookie, "https://evil.example", 2, True)

    with pytest.raises(websockets.exceptions.WebSocketException):
        asyncio.run(attempt())
