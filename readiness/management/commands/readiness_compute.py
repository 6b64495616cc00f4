"""Compute (or recompute) province scorecards: ``manage.py readiness_compute [--start D] [--end D]``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from readiness.services import ReadinessError, scorecards_recompute
from readiness.windows import yesterday


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = "Compute the readiness scorecards of every province for each local day of a period (default: yesterday)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", help="first day, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--end", help="last day, included, YYYY-MM-DD (default: the start)")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _day(options["start"]) if options["start"] else yesterday()
        end = _day(options["end"]) if options["end"] else start
        if end >= timezone.localdate():
            raise CommandError("only past days can be computed: the period must end before today")
        try:
            days = scorecards_recompute(start=start, end=end)
        except ReadinessError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"computed {days} day(s) of scorecards, {start} to {end}")
