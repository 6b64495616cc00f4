"""SigmaHQ regression data: does a rule, converted for our events, fire on its own positive sample?

Each case folder holds ``info.yml`` (the rule id) and the Windows event(s) as JSON. The caller turns
the JSON into our ECS documents (``collectors.agent.parsers.windows.parse_record``), indexes them, and
``cases_matched`` runs every case's rule restricted to that case's documents in one msearch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CASE_FIELD = "labels.sigma_case"  # tags each indexed document with the case it belongs to


@dataclass(frozen=True)
class RegressionCase:
    name: str  # the case folder name
    rule_id: str
    records: list[dict[str, Any]]  # raw JSON records (evtx_dump rendering)


def regression_cases(root: Path) -> Iterator[RegressionCase]:
    for info in sorted(root.rglob("info.yml")):
        meta = yaml.safe_load(info.read_text(encoding="utf-8")) or {}
        rule_ids = [m.get("id") for m in meta.get("rule_metadata") or [] if isinstance(m, dict)]
        records = [r for p in sorted(info.parent.glob("*.json")) for r in _load_json(p)]
        if rule_ids and rule_ids[0] and records:
            yield RegressionCase(info.parent.name, str(rule_ids[0]), records)


def rules_by_id(rule_roots: list[Path]) -> dict[str, Path]:
    """Rule id → file, read cheaply from the ``id:`` line so no full parse is needed."""
    found: dict[str, Path] = {}
    for root in rule_roots:
        for path in root.rglob("*.yml"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("id:"):
                    found[line[3:].strip().strip("'\"")] = path
                    break
    return found


def cases_matched(es: Any, index: str, queries: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """For case name → rule query, whether the query finds a document of that case."""
    names = list(queries)
    body: list[dict[str, Any]] = []
    for name in names:
        query = {"bool": {"filter": [queries[name], {"term": {CASE_FIELD: name.lower()}}]}}
        body += [{"index": index}, {"size": 0, "query": query, "track_total_hits": 1}]
    responses = es.msearch(searches=body)["responses"] if body else []
    hits = [r.get("hits", {}).get("total", {}).get("value", 0) for r in responses]
    return {name: count > 0 for name, count in zip(names, hits, strict=True)}


def _load_json(path: Path) -> list[dict[str, Any]]:
    """The records of a file of concatenated JSON objects (evtx_dump writes one after another)."""
    text, decoder, records, position = path.read_text(encoding="utf-8"), json.JSONDecoder(), [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        record, position = decoder.raw_decode(text, position)
        if isinstance(record, dict):
            records.append(record)
    return records
