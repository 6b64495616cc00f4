"""Import a folder of Sigma rules: one line per file, imported (on or off, and why) or exactly why not."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.authoring import SIGMA_LEVEL_ORDER, SIGMA_STATUSES, ImportLine, SigmaEnablePolicy, sigma_folder_import
from organisations.actors import Actor
from organisations.models import Organisation


class Command(BaseCommand):
    help = ("Import every Sigma rule (*.yml) under a folder; prints per rule: imported (enabled or why off), "
            "or why not.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder")
        parser.add_argument("--enable", action="store_true",
                            help="enable the imported rules of --min-level and --status at once")
        parser.add_argument("--min-level", choices=SIGMA_LEVEL_ORDER, default="medium",
                            help="lowest Sigma level enabled (default medium: informational and low stay off)")
        parser.add_argument("--status", default="stable,test",
                            help=f"Sigma statuses enabled, comma-separated, of {', '.join(SIGMA_STATUSES)} "
                                 "(default stable,test)")
        parser.add_argument("--province", help="organisation code: run the rules on its events only")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = None
        if options["province"]:
            organisation = Organisation.objects.filter(code=options["province"]).first()
            if organisation is None:
                raise CommandError(f"no organisation with code {options['province']!r}")
        policy = SigmaEnablePolicy(min_level=options["min_level"], statuses=_statuses(options["status"]))
        lines = sigma_folder_import(folder=options["folder"], actor=Actor.system(), enabled=options["enable"],
                                    organisation=organisation, policy=policy)
        for line in lines:
            self.stdout.write(_line_text(line))
        self.stdout.write(_summary(lines, policy, enable=options["enable"]))


def _statuses(raw: str) -> frozenset[str]:
    statuses = frozenset(s.strip() for s in raw.split(",") if s.strip())
    unknown = sorted(statuses - set(SIGMA_STATUSES))
    if not statuses or unknown:
        raise CommandError(f"--status takes {', '.join(SIGMA_STATUSES)}; got {', '.join(unknown) or 'nothing'}")
    return statuses


def _line_text(line: ImportLine) -> str:
    if not line.imported:
        return f"rejected  {line.path}: {'; '.join(line.reasons)}"
    state = "enabled" if line.enabled else f"off: {line.off_because}" if line.off_because else "off"
    return f"imported  {line.path} (rule {line.rule_id}, {state})"


def _summary(lines: list[ImportLine], policy: SigmaEnablePolicy, *, enable: bool) -> str:
    reasons = Counter(line.reasons[0].split(":")[0] if line.reasons else "unknown"
                      for line in lines if not line.imported)
    imported = sum(line.imported for line in lines)
    enabled = sum(line.enabled for line in lines)
    rejected = ", ".join(f"{kind} {n}" for kind, n in reasons.most_common()) or "none"
    which = (f"level {policy.min_level} or above, status {'/'.join(sorted(policy.statuses))}" if enable
             else "--enable was not given")
    return (f"{imported} of {len(lines)} rules imported, {enabled} enabled ({which}); "
            f"rejected by reason: {rejected}")
