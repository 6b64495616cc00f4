"""SigmaHQ regression samples → our Windows parser → our converted rules, on real Elasticsearch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from detection.sigma import convert_rule
from detection.sigma.regression import CASE_FIELD, cases_matched, regression_cases, rules_by_id

parsers = pytest.importorskip("collectors.agent.parsers.windows", reason="Windows parser not available")


def test_rules_fire_on_their_regression_samples(
    es: Any, event_index: Callable[[list[dict[str, Any]]], str], sigma_rules: Path
) -> None:
    from collectors.agent.parsers.base import ParseContext

    sigma_root = sigma_rules.parent
    folders = ("rules", "rules-emerging-threats", "rules-threat-hunting")
    rule_files = rules_by_id([sigma_root / folder for folder in folders])
    docs: list[dict[str, Any]] = []
    queries: dict[str, dict[str, Any]] = {}
    for case in regression_cases(sigma_root / "regression_data"):
        rule = convert_rule(rule_files[case.rule_id].read_text()) if case.rule_id in rule_files else None
        if rule is None or rule.query is None:
            continue
        queries[case.name] = rule.query
        for record in case.records:
            doc = parsers.parse_record(record, ParseContext())
            doc.setdefault("labels", {})["sigma_case"] = case.name
            docs.append(doc)
    assert CASE_FIELD == "labels.sigma_case"
    matched = cases_matched(es, event_index(docs), queries)
    missed = sorted(name for name, ok in matched.items() if not ok)
    print(f"regression: {len(matched) - len(missed)} of {len(matched)} cases fire; missed: {missed}")
    assert len(matched) >= 150
    assert len(missed) <= len(matched) * 0.1, missed
