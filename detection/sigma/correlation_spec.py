"""A Sigma correlation rule reduced to what the sliding-window evaluator needs, in ECS terms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaRuleReference,
)
from sigma.rule import SigmaRule

from detection.sigma.pipelines import resolve_profile

SUPPORTED_TYPES = {
    SigmaCorrelationType.EVENT_COUNT: "event_count",
    SigmaCorrelationType.VALUE_COUNT: "value_count",
    SigmaCorrelationType.TEMPORAL: "temporal",
    SigmaCorrelationType.TEMPORAL_ORDERED: "temporal_ordered",
}

QueryFn = Callable[[SigmaRule], tuple[str | None, list[Any]]]


@dataclass(frozen=True)
class CorrelatedRule:
    """One rule a correlation refers to, with its fields named as in our events."""

    name: str
    lucene: str
    group_fields: tuple[str, ...]  # ECS field per correlation group-by key, same order
    value_field: str | None = None  # value_count: the ECS field whose distinct values count


@dataclass(frozen=True)
class CorrelationSpec:
    type: str  # event_count | value_count | temporal | temporal_ordered
    rules: tuple[CorrelatedRule, ...]  # in the rule's order (matters for temporal_ordered)
    group_by: tuple[str, ...]  # Sigma names: the keys of CorrelationMatch.group
    timespan_seconds: int
    op: str  # gte, gt, lte, lt, eq, neq
    count: int


def correlation_spec(rule: SigmaCorrelationRule, query_of: QueryFn) -> CorrelationSpec | str:
    """Build the spec, or say why not (unsupported type, unresolvable rule or field)."""
    kind = SUPPORTED_TYPES.get(rule.type)
    if kind is None:
        return f"correlation type '{rule.type.name.lower()}' is not supported"
    condition = rule.condition
    if condition is not None and not isinstance(condition, SigmaCorrelationCondition):
        return "extended (boolean) correlation conditions are not supported"
    refs = rule.rules or []
    parts: list[CorrelatedRule] = []
    for ref in refs:
        part = _correlated_rule(rule, ref, query_of)
        if isinstance(part, str):
            return part
        parts.append(part)
    op, count = _op_and_count(condition, kind, len(parts))
    return CorrelationSpec(kind, tuple(parts), tuple(rule.group_by or ()), rule.timespan.seconds, op, count)


def _op_and_count(condition: SigmaCorrelationCondition | None, kind: str, n_rules: int) -> tuple[str, int]:
    if condition is None:  # temporal without condition: every referenced rule must appear
        return "gte", n_rules
    return condition.op.name.lower(), condition.count


def _correlated_rule(
    rule: SigmaCorrelationRule, ref: SigmaRuleReference, query_of: QueryFn
) -> CorrelatedRule | str:
    target = getattr(ref, "rule", None)
    if not isinstance(target, SigmaRule):
        return f"referenced rule '{ref.reference}' is missing or is itself a correlation"
    lucene, problems = query_of(target)
    if lucene is None:
        return f"referenced rule '{ref.reference}': " + "; ".join(str(p) for p in problems)
    group_fields = []
    for name in rule.group_by or ():
        ecs = _ecs_field(rule, ref, target, name)
        if ecs is None:
            return f"group-by field '{name}' is not produced by events of rule '{ref.reference}'"
        group_fields.append(ecs)
    value_field = None
    fieldref = rule.condition.fieldref if isinstance(rule.condition, SigmaCorrelationCondition) else None
    if isinstance(fieldref, str):
        value_field = _ecs_field(rule, ref, target, fieldref)
        if value_field is None:
            return f"value field '{fieldref}' is not produced by events of rule '{ref.reference}'"
    return CorrelatedRule(ref.reference, lucene, tuple(group_fields), value_field)


def _ecs_field(
    rule: SigmaCorrelationRule, ref: SigmaRuleReference, target: SigmaRule, name: str
) -> str | None:
    # An alias names one field per rule ("aliases: {ip: {login: IpAddress, web: c-ip}}").
    alias = rule.aliases.aliases.get(name)
    if alias is not None:
        name = next((f for r, f in alias.mapping.items() if r.reference == ref.reference), name)
    profile = resolve_profile(target.logsource)
    if isinstance(profile, str):
        return None
    fields = profile.ecs_fields(name)
    return fields[0] if fields else None
