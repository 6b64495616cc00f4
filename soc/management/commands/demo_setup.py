"""`make dev`, after seed_demo: the starter rule pack and one collector per demo province."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from soc.demo import demo_collectors_create, demo_rules_load


class Command(BaseCommand):
    help = "Load the starter rule pack and create the demo provinces' collectors (credentials in --secrets)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--secrets", type=Path, required=True, help="folder for <PROVINCE>.secret files")
        parser.add_argument("--days", type=int, default=30, help="days of history the demo replays")

    def handle(self, *args: Any, **opts: Any) -> None:
        rules = demo_rules_load()
        collectors = demo_collectors_create(folder=opts["secrets"], history_days=opts["days"])
        codes = ", ".join(c.organisation.code for c in collectors)
        self.stdout.write(self.style.SUCCESS(f"{rules} starter rules enabled; demo collectors for {codes}"))
