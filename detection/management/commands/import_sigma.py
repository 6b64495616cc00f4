"""Import a folder of Sigma rules: one line per file, imported or exactly why not."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.authoring import sigma_folder_import
from organisations.actors import Actor
from organisations.models import Organisation


class Command(BaseCommand):
    help = "Import every Sigma rule (*.yml) under a folder; prints per rule: imported, or why not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder")
        parser.add_argument("--enable", action="store_true", help="enable the imported rules at once")
        parser.add_argument("--province", help="organisation code: run the rules on its events only")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = None
        if options["province"]:
            organisation = Organisation.objects.filter(code=options["province"]).first()
            if organisation is None:
                raise CommandError(f"no organisation with code {options['province']!r}")
        lines = sigma_folder_import(folder=options["folder"], actor=Actor.system(), enabled=options["enable"],
                                    organisation=organisation)
        reasons: Counter[str] = Counter()
        for line in lines:
            if line.imported:
                self.stdout.write(f"imported  {line.path} (rule {line.rule_id})")
            else:
                reasons[line.reasons[0].split(":")[0] if line.reasons else "unknown"] += 1
                self.stdout.write(f"rejected  {line.path}: {'; '.join(line.reasons)}")
        imported = sum(line.imported for line in lines)
        summary = ", ".join(f"{kind} {n}" for kind, n in reasons.most_common()) or "none"
        self.stdout.write(f"{imported} of {len(lines)} rules imported; rejected by reason: {summary}")
