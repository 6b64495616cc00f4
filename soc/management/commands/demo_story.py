"""`make dev`, once the demo's history is shipped: readiness, a published period, a request for action."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from soc.demo import RFA_PROVINCE, history_wait, incident_wait, readiness_publish, request_round_trip


class Command(BaseCommand):
    help = ("Wait for the demo's history to reach Elasticsearch, compute and publish readiness for it, "
            "then send a request for action on a demo incident and answer it as the province.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--history", type=Path, required=True, help="history.json written by demo_replay.py")
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each step")

    def handle(self, *args: Any, **opts: Any) -> None:
        history = json.loads(opts["history"].read_text())
        history_wait(expected=history["lines"], timeout=opts["timeout"], say=self.stdout.write)
        period = readiness_publish(days=int(history["days"]))
        self.stdout.write(f"demo: readiness computed and published for {period.start} to {period.end}")
        incident = incident_wait(code=RFA_PROVINCE, timeout=opts["timeout"])
        if incident is None:
            self.stderr.write(f"demo: no {RFA_PROVINCE} incident within {opts['timeout']:.0f}s: no request sent")
            return
        request = request_round_trip(incident=incident)
        self.stdout.write(f"demo: request for action on {incident.key} sent to {RFA_PROVINCE} and {request.status}")
