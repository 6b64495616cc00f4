"""WebSocket fan-out: a new incident reaches 500 open consoles; p95 delivery time.

500 consoles (half central, half Hà Nội) hold real session cookies on a real
uvicorn server; each incident is created through the service (as detection
does) and timed from commit to arrival at every console. A Hồ Chí Minh
console is connected too and must receive nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Its own indices and templates: a shorter shared prefix ("bench-") would overlap another benchmark's
# ("bench-ingest-events-*" against the "bench-ingest-*" template) and Elasticsearch refuses the template.
os.environ.setdefault("SOC_ES_PREFIX", "bench-fanout-")

from bench.common import cli, report, short_mode, summary_ms
from bench.harness import Processes, django_setup, free_port

CONSOLES = 100 if short_mode() else 500
INCIDENTS = 3 if short_mode() else 10


def sessions() -> tuple[list[str], str]:
    from django.test import Client

    from organisations.models import Organisation, Role
    from organisations.services import organisation_tree_ensure, user_with_role

    organisation_tree_ensure()
    users = [user_with_role(username=f"bench.{code}", password="bench-password-2026",
                            organisation=Organisation.objects.get(code=code), role=role)
             for code, role in (("VN", Role.CENTRAL_ANALYST), ("HNI", Role.PROVINCIAL_RESPONDER),
                                ("HCM", Role.PROVINCIAL_RESPONDER))]

    def cookie(user: Any) -> str:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}"

    return [cookie(users[i % 2]) for i in range(CONSOLES)], cookie(users[2])


async def console(url: str, cookie: str, origin: str, arrivals: list[float], ready: asyncio.Event,
                  expect: int) -> int:
    import websockets

    async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=origin,  # type: ignore[arg-type]
                                  open_timeout=60) as ws:
        ready.set()
        got = 0
        while got < expect:
            try:
                await asyncio.wait_for(ws.recv(), timeout=30)
            except TimeoutError:
                break
            arrivals.append(time.perf_counter())
            got += 1
        return got


async def scenario(port: int, cookies: list[str], outsider: str) -> dict[str, Any]:
    from asgiref.sync import sync_to_async

    from incidents.services.intake import incident_create
    from organisations.models import Organisation

    url, origin = f"ws://127.0.0.1:{port}/ws/incidents/", f"http://127.0.0.1:{port}"
    arrivals: list[list[float]] = [[] for _ in cookies]
    readies = [asyncio.Event() for _ in cookies]
    tasks = [asyncio.create_task(console(url, c, origin, arrivals[i], readies[i], INCIDENTS))
             for i, c in enumerate(cookies)]
    leak: list[float] = []
    outsider_task = asyncio.create_task(console(url, outsider, origin, leak, asyncio.Event(), 1))
    await asyncio.gather(*(r.wait() for r in readies))
    hni = await sync_to_async(Organisation.objects.get)(code="HNI")
    sent: list[float] = []
    for n in range(INCIDENTS):
        sent.append(time.perf_counter())
        await sync_to_async(incident_create)(province=hni, title=f"fan-out {n}")
        await asyncio.sleep(0.5)
    counts = await asyncio.gather(*tasks)
    outsider_task.cancel()
    delays = [arr[n] - sent[n] for arr in arrivals for n in range(min(len(arr), INCIDENTS))]
    return {"consoles": len(cookies), "delivered": sum(counts), "expected": len(cookies) * INCIDENTS,
            "outsider_received": len(leak), **summary_ms(delays)}


def main() -> None:
    cli(__doc__, short="100 consoles and 3 incidents instead of 500 and 10").parse_args()
    django_setup()
    cookies, outsider = sessions()
    port = free_port()
    procs = Processes(Path(tempfile.mkdtemp(prefix="fanout-")))
    try:
        procs.web(port)
        figures = asyncio.run(scenario(port, cookies, outsider))
    finally:
        procs.stop()
    report(f"websocket fan-out ({CONSOLES} consoles)", figures,
           target="p95 delivery; every console gets every incident")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
