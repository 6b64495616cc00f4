"""SigmaHQ regression samples through the collector path: agent parser → ingest → production template.

The other regression test indexes parsed samples into a scratch index; this one stores them the way
production does (``ingest_batch``: credential-derived organisation, ``event.ingested``, daily indices
of the real event template) and runs each case's rule, converted once, over the stored events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from collectors.agent.parsers import parse_json_record
from collectors.agent.parsers.base import ParseContext, isoformat_utc
from collectors.ingest import ingest_batch
from detection.sigma import convert_rule
from detection.sigma.regression import cases_matched, regression_cases, rules_by_id
from soc import es as soc_es
from tests.conftest import EnrolledCollector


def case_docs(sigma_root: Path, limit: int | None) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """The cases' samples as ingest items, each case's rule as its query (with its log-source filter under
    ``source:<case>``), and the cases whose rule does not convert."""
    folders = ("rules", "rules-emerging-threats", "rules-threat-hunting")
    rule_files = rules_by_id([sigma_root / folder for folder in folders])
    items: list[dict[str, Any]] = []
    queries: dict[str, dict[str, Any]] = {}
    unsupported = []
    now = datetime.now(UTC)
    for case in list(regression_cases(sigma_root / "regression_data"))[:limit]:
        rule = convert_rule(rule_files[case.rule_id].read_text()) if case.rule_id in rule_files else None
        if rule is None or rule.query is None:
            unsupported.append(case.name)
            continue
        queries[case.name] = rule.query
        if rule.source:
            queries[f"source:{case.name}"] = rule.source
        for n, record in enumerate(case.records):
            doc = parse_json_record(record, ParseContext(), source="windows")
            doc.setdefault("labels", {})["sigma_case"] = case.name
            # Samples span years; stamped today they land in one daily index, as live events would.
            doc["@timestamp"] = isoformat_utc(now)
            items.append({"id": f"{case.name[:150]}-{n}", "doc": doc})
    return items, queries, unsupported


@pytest.fixture
def platform_es(es_client: Elasticsearch) -> Elasticsearch:
    """The project's client with its index templates installed (this folder's ``es`` is a bare client)."""
    es_client.indices.delete(index=soc_es.index_pattern("*"), ignore_unavailable=True, allow_no_indices=True,
                             expand_wildcards="all")
    return es_client


def run_cases(es: Elasticsearch, collector: EnrolledCollector, sigma_rules: Path,
              limit: int | None) -> tuple[dict[str, bool], list[str]]:
    items, queries, unsupported = case_docs(sigma_rules.parent, limit)
    results = [r for start in range(0, len(items), 1000)
               for r in ingest_batch(collector=collector.collector, payload={"events": items[start:start + 1000]})]
    assert {r.status for r in results} == {"created"}, [r for r in results if r.status != "created"][:3]
    es.indices.refresh(index=soc_es.events_pattern())
    sources_hold(es, queries)
    queries = {name: query for name, query in queries.items() if not name.startswith("source:")}
    return cases_matched(es, soc_es.events_pattern(), queries), unsupported


def sources_hold(es: Elasticsearch, queries: dict[str, dict[str, Any]]) -> None:
    """No stored sample (of any case) matches a rule's query without its log-source filter: a cycle that skips
    a rule whose source sent nothing (``detection.services._sources_silent``) skips nothing it would find."""
    pairs = [(name, query, queries[f"source:{name}"]) for name, query in queries.items()
             if f"source:{name}" in queries]
    assert len(pairs) >= 0.9 * len([n for n in queries if not n.startswith("source:")])
    body: list[dict[str, Any]] = []
    for _, query, source in pairs:
        body += [{"index": soc_es.events_pattern()},
                 {"size": 0, "track_total_hits": True,
                  "query": {"bool": {"filter": [query], "must_not": [source]}}}]
    answers = es.msearch(searches=body)["responses"]
    assert not [a for a in answers if "error" in a], [a for a in answers if "error" in a][:2]
    outside = [name for (name, _, _), a in zip(pairs, answers, strict=True) if a["hits"]["total"]["value"]]
    assert outside == []


@pytest.mark.django_db
def test_the_first_regression_cases_fire_after_the_real_ingest_path(
        platform_es: Elasticsearch, hni_collector: EnrolledCollector, sigma_rules: Path) -> None:
    matched, _ = run_cases(platform_es, hni_collector, sigma_rules, limit=25)

    assert len(matched) >= 20 and all(matched.values()), matched


@pytest.mark.slow
@pytest.mark.django_db
def test_every_regression_case_fires_after_the_real_ingest_path(
        platform_es: Elasticsearch, hni_collector: EnrolledCollector, sigma_rules: Path) -> None:
    matched, unsupported = run_cases(platform_es, hni_collector, sigma_rules, limit=None)

    missed = sorted(name for name, ok in matched.items() if not ok)
    print(f"\nregression through ingest: {len(matched) - len(missed)} of {len(matched)} supported cases fire "
          f"(not supported, their rule's log source or fields are not collected: {unsupported}); missed: {missed}")
    assert len(matched) >= 150
    assert len(matched) - len(missed) >= 0.95 * len(matched), missed
