"""Load (or refresh) the starter rule pack from rules/*.yml; each change becomes a new rule version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from detection.starter import RULES_DIR, starter_rules_load
from organisations.actors import Actor


class Command(BaseCommand):
    help = "Create or update the starter detection rules from rules/*.yml."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--folder", default=str(RULES_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        for name, outcome in starter_rules_load(actor=Actor.system(), folder=Path(options["folder"])):
            self.stdout.write(f"{outcome:8}  {name}")
