"""Load (or refresh) the starter playbooks from playbooks/*.yml; idempotent (see playbook_starter_load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.services.playbooks import STARTER_DIR, playbook_starter_load
from organisations.actors import Actor


class Command(BaseCommand):
    help = ("Create the starter playbooks from playbooks/*.yml, or update those nobody has edited since they "
            "were loaded (each change a new version).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--folder", default=str(STARTER_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        results = playbook_starter_load(actor=Actor.system(), folder=Path(options["folder"]))
        for slug, outcome in results:
            self.stdout.write(f"{outcome:9}  {slug}")
        if any(outcome.startswith("invalid") for _, outcome in results):
            raise CommandError("some playbooks are invalid")
