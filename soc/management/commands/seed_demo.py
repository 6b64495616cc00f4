"""Demo data for `make dev`: the tree, one user per role, a collector, the brute-force rule.

It lives in `soc` (the project, above every app) because it seeds every app; `organisations` stays the
lowest app and imports none of them (tests/test_layers.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from collectors.models import Collector
from collectors.services import collector_create
from detection.models import DetectionRule, RuleKind
from incidents.models import Category, Severity
from incidents.services.sla import sla_policy_defaults_ensure
from organisations.models import Organisation, Role
from organisations.services import organisation_tree_ensure, user_with_role

DEMO_USERS = [
    ("lead", "VN", Role.CENTRAL_LEAD),
    ("analyst", "VN", Role.CENTRAL_ANALYST),
    ("auditor", "VN", Role.AUDITOR),
    ("hni.responder", "HNI", Role.PROVINCIAL_RESPONDER),
    ("hni.admin", "HNI", Role.PROVINCIAL_ADMIN),
    ("hcm.responder", "HCM", Role.PROVINCIAL_RESPONDER),
    ("integration", "VN", Role.SERVICE),
]

SSH_BRUTE_FORCE = {
    "query": "event.dataset:system.auth AND event.outcome:failure AND event.action:(ssh_login OR invalid_user)",
    "group_by": ["source.ip"],
    "count": 5,
    "window_seconds": 300,
}


def ensure_brute_force_rule() -> DetectionRule:
    rule, _ = DetectionRule.objects.get_or_create(
        name="SSH brute force", defaults={
            "kind": RuleKind.THRESHOLD, "params": SSH_BRUTE_FORCE, "severity": Severity.HIGH,
            "category": Category.INTRUSION_ATTEMPTS, "interval_seconds": 5,
        })
    return rule


class Command(BaseCommand):
    help = "Load demo organisations, users (password = --password), a collector and rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", required=True, help="password for every demo user")
        parser.add_argument("--collector-secret-file", type=Path, required=True,
                            help="where to write the demo collector's credential")

    def handle(self, *args: Any, **opts: Any) -> None:
        sla_policy_defaults_ensure(national=organisation_tree_ensure())
        for username, code, role in DEMO_USERS:
            user_with_role(username=username, password=opts["password"],
                           organisation=Organisation.objects.get(code=code), role=role)
        ensure_brute_force_rule()
        secret_file: Path = opts["collector_secret_file"]
        Collector.objects.filter(name="HNI-DEMO-01").delete()
        _, secret = collector_create(organisation=Organisation.objects.get(code="HNI"), name="HNI-DEMO-01")
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secret)
        secret_file.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("demo data loaded"))
