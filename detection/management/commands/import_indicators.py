"""Import threat-intelligence indicators from a CSV, STIX 2.1 bundle or MISP feed event file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.indicators import READERS, indicators_import


class Command(BaseCommand):
    help = "Import indicators (ip, domain, url, hash) from a file; prints what was stored and every problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=sorted(READERS), required=True)
        parser.add_argument("--source", required=True, help="feed name, kept on every indicator")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = Path(options["path"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['path']}: {exc}") from exc
        summary = indicators_import(fmt=options["format"], text=text, source=options["source"])
        for problem in summary.problems:
            self.stdout.write(f"skipped  {problem}")
        self.stdout.write(f"{summary.created} created, {summary.updated} refreshed, "
                          f"{len(summary.problems)} skipped")
