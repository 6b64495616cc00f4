"""`make dev`, once the demo's history is shipped: readiness, a published period, a request for action, playbook
tasks done by the centre and the province, the provinces' acknowledgements, and today's readiness once the live
replay has arrived."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from soc.demo import (
    LATE_PROVINCE,
    LATE_RESPONDER,
    RFA_PROVINCE,
    RFA_RESPONDER,
    SKEWED_PROVINCE,
    history_wait,
    incident_wait,
    incidents_acknowledge,
    incidents_acknowledge_late,
    live_wait,
    readiness_publish,
    readiness_today,
    request_round_trip,
    tasks_round_trip,
)


class Command(BaseCommand):
    help = ("Wait for the demo's history to reach Elasticsearch, compute and publish readiness for it, send a "
            "request for action on a demo incident and answer it as the province, acknowledge incidents (HCM at "
            "once, HNI late), and compute today's readiness once the live replay has arrived.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--history", type=Path, required=True, help="history.json written by demo_replay.py")
        parser.add_argument("--live", type=Path, help="live.json written by demo_replay.py (default: beside "
                                                      "--history)")
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each step")

    def handle(self, *args: Any, **opts: Any) -> None:
        timeout: float = opts["timeout"]
        first = incident_wait(code=RFA_PROVINCE, timeout=timeout)
        prompt = incidents_acknowledge(code=RFA_PROVINCE, username=RFA_RESPONDER)
        self.stdout.write(f"demo: {RFA_RESPONDER} acknowledged {len(prompt)} {RFA_PROVINCE} incidents at once")
        history = json.loads(opts["history"].read_text())
        history_wait(expected=history["lines"], timeout=timeout, say=self.stdout.write)
        period = readiness_publish(days=int(history["days"]))
        self.stdout.write(f"demo: readiness computed and published for {period.start} to {period.end}")
        if first is None:
            self.stderr.write(f"demo: no {RFA_PROVINCE} incident within {timeout:.0f}s: no request sent")
        else:
            request = request_round_trip(incident=first)
            self.stdout.write(f"demo: request for action on {first.key} sent to {RFA_PROVINCE} and {request.status}")
            done = tasks_round_trip(code=RFA_PROVINCE)
            where = done[0].incident.key if done else "no incident with open playbook tasks"
            self.stdout.write(f"demo: {len(done)} playbook tasks done by the centre and {RFA_PROVINCE} on {where}")
        self.acknowledge_and_score_today(live=opts["live"] or opts["history"].with_name("live.json"), timeout=timeout)

    def acknowledge_and_score_today(self, *, live: Path, timeout: float) -> None:
        incidents_acknowledge(code=RFA_PROVINCE, username=RFA_RESPONDER)  # any that opened since
        late = incidents_acknowledge_late(code=LATE_PROVINCE, username=LATE_RESPONDER, timeout=timeout)
        self.stdout.write(f"demo: {LATE_RESPONDER} acknowledged {len(late)} {LATE_PROVINCE} incidents after "
                          "their due time")
        deadline = time.monotonic() + timeout
        while not live.exists() and time.monotonic() < deadline:
            time.sleep(1)
        if live.exists():
            live_wait(expected=json.loads(live.read_text())["lines"], timeout=timeout, say=self.stdout.write)
        cards = readiness_today()
        for code in (SKEWED_PROVINCE, LATE_PROVINCE, RFA_PROVINCE):
            reasons = "; ".join(a["text"] for a in cards[code].actions if a["dimension"] in ("correct", "response"))
            self.stdout.write(f"demo: today's readiness {code} {cards[code].score:.0f}: {reasons or 'no reasons'}")
        self.stdout.write(f"demo: today's readiness computed for {len(cards)} provinces")
