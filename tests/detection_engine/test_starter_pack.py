"""Every starter rule fires on its positive events and stays quiet on its negative ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from elasticsearch import Elasticsearch

from detection.authoring import rule_test_run
from detection.indicators import indicators_import
from detection.models import DetectionRule
from detection.starter import starter_events, starter_files, starter_read
from tests.detection_engine.conftest import Index, make_rule, now

FILES = starter_files()


def test_the_pack_covers_the_attacks_the_platform_promises() -> None:
    names = {path.stem for path in FILES}
    assert {"ssh_brute_force", "rdp_brute_force", "password_spraying", "success_after_failures", "web_sql_injection",
            "web_path_traversal", "web_shell", "web_scanner_user_agent", "web_error_burst", "port_scan",
            "new_local_admin", "sudo_su_abuse", "windows_log_cleared", "known_bad_indicators",
            "silent_log_source", "logins_from_many_countries"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_starter_rule_fires_on_its_positive_events_only(
        es: Elasticsearch, orgs: None, index: Index, path: Path) -> None:
    data, tests = starter_read(path)
    assert tests.get("positive") and tests.get("negative"), "each rule needs positive and negative events"
    for indicator in tests.get("indicators", []):
        indicators_import(fmt="csv", source="test", text=f"type,value\n{indicator['type']},{indicator['value']}\n")
    rule = make_rule(**data)
    t0 = now()
    index(*starter_events(tests["positive"], org="HNI", now=t0), *starter_events(tests["negative"], org="HCM", now=t0))

    result = rule_test_run(rule=rule, start=t0 - timedelta(hours=3), end=t0 + timedelta(seconds=1))

    assert result["error"] == ""
    provinces = [f["group"]["organization.id"] for f in result["findings"]]
    assert "HNI" in provinces, f"{path.name} missed its positive events"
    assert "HCM" not in provinces, f"{path.name} fired on its negative events: {result['findings']}"


@pytest.mark.django_db
def test_load_starter_rules_creates_then_versions_the_pack(orgs: None) -> None:
    call_command("load_starter_rules")
    call_command("load_starter_rules")

    assert DetectionRule.objects.count() == len(FILES)
    assert set(DetectionRule.objects.values_list("version", flat=True)) == {2}
