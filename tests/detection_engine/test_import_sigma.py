"""``manage.py import_sigma``: which imported SigmaHQ rules it switches on, and that it says how many."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from detection.models import DetectionRule

pytestmark = pytest.mark.django_db
ACCOUNTS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "sigma" / "rules" / "windows" \
    / "builtin" / "security" / "account_management"


@pytest.fixture
def folder() -> Path:
    if not ACCOUNTS.is_dir():
        pytest.skip(f"Sigma corpus not found at {ACCOUNTS} (shared/ must sit beside the clone)")
    return ACCOUNTS


def titles(folder: Path, *, levels: set[str], statuses: set[str]) -> set[str]:
    """Titles of the rules in ``folder`` with one of these levels and statuses, read from the YAML itself."""
    found = set()
    for path in folder.glob("*.yml"):
        rule = yaml.safe_load(path.read_text())
        if rule.get("level") in levels and rule.get("status") in statuses:
            found.add(rule["title"])
    return found


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("import_sigma", *args, stdout=out)
    return out.getvalue().splitlines()


def test_enable_switches_on_medium_and_above_stable_and_test_rules_only(orgs: None, folder: Path) -> None:
    lines = run(str(folder), "--enable")

    expected = titles(folder, levels={"medium", "high", "critical"}, statuses={"stable", "test"})
    enabled = set(DetectionRule.objects.filter(enabled=True).values_list("name", flat=True))
    assert enabled == expected and len(expected) >= 8
    assert DetectionRule.objects.filter(enabled=False).count() == 16 - len(expected)
    assert any("off: level low is below medium" in line for line in lines)
    assert lines[-1].startswith(f"16 of 16 rules imported, {len(expected)} enabled (level medium or above, "
                                "status stable/test)")


def test_min_level_and_status_choose_other_rules(orgs: None, folder: Path) -> None:
    lines = run(str(folder), "--enable", "--min-level", "low", "--status", "stable")

    expected = titles(folder, levels={"low", "medium", "high", "critical"}, statuses={"stable"})
    assert set(DetectionRule.objects.filter(enabled=True).values_list("name", flat=True)) == expected
    assert any("off: status test is not stable" in line for line in lines)
    assert f", {len(expected)} enabled (level low or above, status stable)" in lines[-1]


def test_without_enable_nothing_is_switched_on_and_it_says_so(orgs: None, folder: Path) -> None:
    lines = run(str(folder))

    assert not DetectionRule.objects.filter(enabled=True).exists()
    assert "0 enabled (--enable was not given)" in lines[-1]


def test_an_unknown_status_is_refused_before_anything_is_imported(orgs: None, folder: Path) -> None:
    with pytest.raises(CommandError, match="stable, test, experimental"):
        run(str(folder), "--enable", "--status", "stable,tested")

    assert not DetectionRule.objects.exists()
