"""`make dev`, after seed_demo: the starter playbooks and rule pack, one collector per demo province, and the SLA
override of the province that will be late to acknowledge (before the workers start, so its incidents carry it
and their playbook tasks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from soc.demo import LATE_ACK_MINUTES, LATE_PROVINCE, demo_collectors_create, demo_rules_load, demo_sla_override


class Command(BaseCommand):
    help = ("Load the starter rule pack, create the demo provinces' collectors (credentials in --secrets) and, as "
            "the lead, set the late province's acknowledgement target.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--secrets", type=Path, required=True, help="folder for <PROVINCE>.secret files")
        parser.add_argument("--days", type=int, default=30, help="days of history the demo replays")

    def handle(self, *args: Any, **opts: Any) -> None:
        rules = demo_rules_load()
        collectors = demo_collectors_create(folder=opts["secrets"], history_days=opts["days"])
        demo_sla_override()
        codes = ", ".join(c.organisation.code for c in collectors)
        self.stdout.write(self.style.SUCCESS(
            f"{rules} starter rules enabled; demo collectors for {codes}; "
            f"{LATE_PROVINCE} must acknowledge within {LATE_ACK_MINUTES} min"))
