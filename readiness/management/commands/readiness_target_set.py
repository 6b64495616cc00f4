"""Set what a province is measured against: collectors expected and source kinds required (audited)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from organisations.actors import Actor
from organisations.models import Kind, Organisation
from readiness.models import SOURCE_KINDS
from readiness.services import ReadinessError, province_target_set


class Command(BaseCommand):
    help = "Set a province's readiness target; each change is in the audit log with before and after."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("province", help="province code, e.g. HNI")
        parser.add_argument("--collectors", type=int, required=True, help="collectors the province should run")
        parser.add_argument("--sources", required=True,
                            help=f"comma-separated source kinds it must send ({', '.join(SOURCE_KINDS)})")

    def handle(self, *args: Any, **opts: Any) -> None:
        province = Organisation.objects.filter(code=opts["province"], kind=Kind.PROVINCE).first()
        if province is None:
            raise CommandError(f"no province {opts['province']!r}")
        sources = [s.strip() for s in opts["sources"].split(",") if s.strip()]
        try:
            target = province_target_set(province=province, expected_collectors=opts["collectors"],
                                         required_sources=sources, actor=Actor.system())
        except ReadinessError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{province.code}: {target.expected_collectors} collectors, "
                          f"sources {', '.join(target.required_sources)}")
