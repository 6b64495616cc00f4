"""Validating a rule of each kind and compiling it into what the engine runs.

``rule_compile`` is called on every save: a rule that does not compile is never
stored or enabled, and the caller gets every problem, each with its field (and
for Sigma, its YAML line), so the console and the API can show them as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detection.engine import SequenceParams, ThresholdParams
from detection.matching import INDICATOR_FIELDS
from detection.models import RuleKind
from detection.sigma import ConvertedRule, CorrelatedRule, CorrelationSpec, convert_rule
from detection.terms import NewTermParams, SilenceParams

SIGMA_LEVELS = {"informational": "low", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}


class RuleInvalid(ValueError):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(p.get("message")) for p in problems))
        self.problems = problems


@dataclass
class Compiled:
    kind: str
    compiled: dict[str, Any]
    # Metadata a Sigma rule carries (title, level, ATT&CK tags); empty for other kinds.
    meta: dict[str, Any] = field(default_factory=dict)


def rule_compile(kind: str, params: dict[str, Any]) -> Compiled:
    if not isinstance(params, dict):
        raise RuleInvalid([{"field": "params", "message": "params must be an object"}])
    if kind in (RuleKind.SIGMA, RuleKind.CORRELATION):
        return _sigma(kind, params)
    checks: dict[str, Callable[[dict[str, Any]], object]] = {
        RuleKind.THRESHOLD: ThresholdParams.from_dict, RuleKind.SEQUENCE: SequenceParams.from_dict,
        RuleKind.NEW_TERM: NewTermParams.from_dict, RuleKind.SILENCE: SilenceParams.from_dict,
        RuleKind.INDICATOR: _indicator_types,
    }
    check = checks.get(kind)
    if check is None:
        raise RuleInvalid([{"field": "kind", "message": f"unknown rule kind '{kind}'"}])
    try:
        check(params)
    except ValueError as exc:
        raise RuleInvalid([{"field": "params", "message": str(exc)}]) from exc
    return Compiled(kind=kind, compiled=dict(params))


def _indicator_types(params: dict[str, Any]) -> list[str]:
    types = params.get("types") or list(INDICATOR_FIELDS)
    unknown = [t for t in types if t not in INDICATOR_FIELDS]
    if unknown:
        raise ValueError(f"unknown indicator types {unknown}; use {sorted(INDICATOR_FIELDS)}")
    return list(types)


def _sigma(kind: str, params: dict[str, Any]) -> Compiled:
    text = params.get("yaml")
    if not isinstance(text, str) or not text.strip():
        raise RuleInvalid([{"field": "params.yaml", "message": "a Sigma rule needs its YAML text in params.yaml"}])
    rule = convert_rule(text)
    if rule.problems:
        raise RuleInvalid([{"field": "params.yaml", "kind": p.kind, "line": p.line, "message": str(p)}
                           for p in rule.problems])
    if rule.correlation is not None:
        compiled = {"correlation": dataclasses.asdict(rule.correlation)}
        return Compiled(kind=RuleKind.CORRELATION, compiled=compiled, meta=_meta(rule))
    if kind == RuleKind.CORRELATION:
        raise RuleInvalid([{"field": "params.yaml", "message": "the YAML holds no correlation rule"}])
    found: dict[str, Any] = {"query": rule.query, "lucene": rule.lucene}
    if rule.source:
        found["source"] = rule.source  # what every match carries: lets a cycle skip a silent log source
    return Compiled(kind=RuleKind.SIGMA, compiled=found, meta=_meta(rule))


def _meta(rule: ConvertedRule) -> dict[str, Any]:
    return {"title": rule.title, "description": rule.description or "", "tactics": rule.tactics,
            "techniques": rule.techniques, "severity": SIGMA_LEVELS.get(rule.level or "", "medium"),
            "sigma_id": rule.id, "sigma_level": rule.level, "sigma_status": rule.status}


def correlation_from_compiled(compiled: dict[str, Any]) -> CorrelationSpec:
    raw = dict(compiled["correlation"])
    rules = tuple(CorrelatedRule(name=r["name"], lucene=r["lucene"], group_fields=tuple(r["group_fields"]),
                                 value_field=r.get("value_field")) for r in raw.pop("rules"))
    return CorrelationSpec(rules=rules, group_by=tuple(raw.pop("group_by")), **raw)


def exceptions_check(raw: Any) -> list[dict[str, Any]]:
    """[{"field": "user.name", "values": ["backup"]}], or a RuleInvalid naming what is wrong."""
    if not isinstance(raw, list):
        raise RuleInvalid([{"field": "exceptions", "message": "exceptions must be a list"}])
    clean = []
    for n, item in enumerate(raw):
        values = item.get("values") if isinstance(item, dict) else None
        name = item.get("field") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name or not isinstance(values, list) or not values:
            raise RuleInvalid([{"field": f"exceptions[{n}]",
                                "message": "each exception needs a field and a non-empty list of values"}])
        clean.append({"field": name, "values": [str(v) for v in values]})
    return clean
