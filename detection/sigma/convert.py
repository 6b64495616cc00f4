"""Sigma rule text → an Elasticsearch query for our events.

``convert_rule`` never raises for bad input: YAML errors, invalid rules, log sources we do not
collect and conversion failures all come back as ``RuleProblem``s on the ``ConvertedRule``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import yaml
from sigma.backends.elasticsearch import LuceneBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.modifiers import modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from detection.sigma.correlation_spec import CorrelationSpec, correlation_spec
from detection.sigma.mapping import field_types as template_field_types
from detection.sigma.pipelines import Profile, build_pipeline, resolve_profile

ProblemKind = Literal["yaml", "invalid", "logsource", "field", "modifier", "conversion"]
Query = dict[str, Any]

# Modifiers whose query means what Sigma means on our events. ``cidr`` holds only on ip-typed fields and
# gt/gte/lt/lte only on numeric ones (checked per field); every other modifier is refused with its reason.
FAITHFUL_MODIFIERS = frozenset({
    "contains", "startswith", "endswith", "all", "windash", "base64", "base64offset", "wide", "utf16",
    "utf16be", "re", "i", "dotall", "cased", "exists", "neq",
})
NUMERIC_MODIFIERS = frozenset({"gt", "gte", "lt", "lte"})
NUMERIC_TYPES = frozenset({"long", "integer", "short", "byte", "double", "float"})
REFUSED_MODIFIERS = {
    "fieldref": "compares two fields of one event, which a search query cannot express",
    "expand": "needs placeholder values (%Admins%...), and none are configured on this platform",
    "m": "anchors ^ and $ at every line, which Elasticsearch regular expressions cannot",
    **dict.fromkeys(("minute", "hour", "day", "week", "month", "year"),
                    "compares a part of a timestamp, which a search query cannot extract"),
}
# pySigma spells some modifiers two ways (i/ignorecase, s/dotall, m/multiline): one name per modifier.
_MODIFIER_NAMES: dict[type, str] = {}
for _name, _cls in modifier_mapping.items():
    _MODIFIER_NAMES.setdefault(_cls, _name)

# Unbound Sigma keywords ("keywords: ['error in libcrypto']") are searched in the log line,
# case-insensitively (the lowercase-normalised keyword sub-field of ``message``).
KEYWORD_FIELD = "message.lc"


@dataclass(frozen=True)
class RuleProblem:
    """Why a rule cannot run on our data, with where in the YAML when we can tell."""

    kind: ProblemKind
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{self.kind}: {where}{self.message}"


@dataclass
class ConvertedRule:
    title: str = ""
    id: str | None = None
    level: str | None = None
    status: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)  # "T1059.001"
    tactics: list[str] = field(default_factory=list)  # "execution", "credential-access"
    logsource: dict[str, str] = field(default_factory=dict)
    lucene: str | None = None
    query: Query | None = None  # goes in a bool.filter; None for correlations and failures
    # What every event the query matches also matches: its log source's selecting terms (``source_filter``).
    source: Query | None = None
    correlation: CorrelationSpec | None = None
    modifiers: list[str] = field(default_factory=list)  # of the detection, as Sigma names them: "contains"...
    problems: list[RuleProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def convert_rule(yaml_text: str) -> ConvertedRule:
    """Convert one Sigma file (a rule, or a correlation with the rules it references)."""
    try:
        collection = SigmaCollection.from_yaml(yaml_text, collect_errors=True)
    except yaml.YAMLError as exc:
        return ConvertedRule(problems=[_yaml_problem(exc)])
    except (SigmaError, TypeError, ValueError, AttributeError) as exc:
        return ConvertedRule(problems=[RuleProblem("invalid", str(exc))])
    invalid = _collection_problems(collection, yaml_text)
    if invalid:
        return _with_metadata(ConvertedRule(problems=invalid), collection)
    correlations = [r for r in collection.rules if isinstance(r, SigmaCorrelationRule)]
    if correlations:
        return _convert_correlation(correlations[0], yaml_text)
    rules = [r for r in collection.rules if isinstance(r, SigmaRule)]
    if not rules:
        return ConvertedRule(problems=[RuleProblem("invalid", "the document holds no Sigma rule")])
    return _convert_detection(rules, yaml_text)


def rule_query(rule: SigmaRule, yaml_text: str = "") -> tuple[str | None, list[RuleProblem]]:
    """The Lucene query of a parsed detection rule on our events, or the problems preventing it."""
    profile = resolve_profile(rule.logsource)
    if isinstance(profile, str):
        return None, [RuleProblem("logsource", profile, _line_of(yaml_text, "logsource"))]
    unmapped = _unmapped_fields(rule, profile)
    if unmapped:
        return None, [
            RuleProblem("field", f"field '{name}' is not produced for {profile.key} events",
                        _line_of(yaml_text, name), name)
            for name in unmapped
        ]
    unfaithful = _modifier_problems(rule, profile, yaml_text)
    if unfaithful:
        return None, unfaithful
    try:
        queries = _backend(profile).convert_rule(rule)
        # A rule referenced by a correlation is not "output" but its query is kept on the rule.
        queries = queries or rule.get_conversion_result()
    except SigmaError as exc:
        return None, [RuleProblem("conversion", _error_text(exc))]
    if not queries:
        return None, [RuleProblem("conversion", "the backend produced no query")]
    return " OR ".join(f"({q})" for q in queries) if len(queries) > 1 else str(queries[0]), []


def lucene_filter(lucene: str) -> Query:
    """The DSL clause for a converted rule; lenient so a wildcard never errors on ip/number fields."""
    return {"query_string": {"query": lucene, "analyze_wildcard": True, "lenient": True,
                             "default_field": KEYWORD_FIELD}}


def _convert_detection(rules: list[SigmaRule], yaml_text: str) -> ConvertedRule:
    # Several rules in one file come from "action: global" variants of one detection: OR them.
    result = _metadata(rules[0])
    parts: list[str] = []
    for rule in rules:
        lucene, problems = rule_query(rule, yaml_text)
        result.problems.extend(problems)
        result.modifiers = sorted(set(result.modifiers) | rule_modifiers(rule))
        if lucene:
            parts.append(lucene)
    if not result.problems:
        result.lucene = parts[0] if len(parts) == 1 else " OR ".join(f"({p})" for p in parts)
        result.query = lucene_filter(result.lucene)
        result.source = source_filter([resolve_profile(rule.logsource) for rule in rules])
    return result


def source_filter(profiles: list[Profile | str]) -> Query | None:
    """Terms every event of these log sources carries, or None when one of them selects nothing by term.

    The pipeline ANDs each profile's conditions into its rule's query (``build_pipeline``), so an event the
    query matches always matches this filter: where no event in a window matches it, the rule cannot match
    either and need not be searched (``detection.services``). Lowercased on the ``.lc`` sub-fields, as the
    pipeline matches them.
    """
    from soc.es import caseless_field  # Django settings are needed only when a rule is converted

    alternatives: list[Query] = []
    for profile in profiles:
        if isinstance(profile, str) or not profile.conditions:
            return None
        values = {name: [str(v).lower() for v in vals] for name, vals in profile.conditions.items()}
        if any(set(v) & set("*?") for vals in values.values() for v in vals):
            return None  # a Sigma wildcard in a condition: not a term
        alternatives.append({"bool": {"filter": [{"terms": {caseless_field(name): vals}}
                                                 for name, vals in sorted(values.items())]}})
    if not alternatives:
        return None
    return alternatives[0] if len(alternatives) == 1 else {"bool": {"should": alternatives,
                                                                    "minimum_should_match": 1}}


def _convert_correlation(rule: SigmaCorrelationRule, yaml_text: str) -> ConvertedRule:
    result = _metadata(rule)
    spec = correlation_spec(rule, lambda r: rule_query(r, yaml_text))
    if isinstance(spec, str):
        result.problems.append(RuleProblem("conversion", spec))
    else:
        result.correlation = spec
    return result


_backends: dict[str, LuceneBackend] = {}


@cache
def field_types() -> dict[str, str]:
    return template_field_types()  # the event template does not change while the process runs


def _backend(profile: Profile) -> LuceneBackend:
    # Building a pipeline and backend costs far more than converting one rule: one per log source.
    if profile.key not in _backends:
        _backends[profile.key] = LuceneBackend(processing_pipeline=build_pipeline(profile))
    return _backends[profile.key]


def _metadata(rule: SigmaRule | SigmaCorrelationRule) -> ConvertedRule:
    tags = [f"{t.namespace}.{t.name}" for t in rule.tags]
    attack = [t.name.lower() for t in rule.tags if t.namespace == "attack"]
    logsource = getattr(rule, "logsource", None)
    return ConvertedRule(
        title=rule.title,
        id=str(rule.id) if rule.id else None,
        level=rule.level.name.lower() if rule.level else None,
        status=rule.status.name.lower() if rule.status else None,
        description=rule.description,
        tags=tags,
        techniques=[t.upper() for t in attack if re.fullmatch(r"t\d{4}(\.\d{3})?", t)],
        # Other attack.* tags are tactics, except groups (g0016) and software (s0002).
        tactics=[t.replace("_", "-") for t in attack if not re.fullmatch(r"[tgs]\d{4}(\.\d{3})?", t)],
        logsource={k: v for k in ("product", "category", "service")
                   if (v := getattr(logsource, k, None))},
    )


def _with_metadata(result: ConvertedRule, collection: SigmaCollection) -> ConvertedRule:
    if collection.rules:
        first = collection.rules[0]
        if isinstance(first, SigmaRule | SigmaCorrelationRule):
            meta = _metadata(first)
            meta.problems = result.problems
            return meta
    return result


def _collection_problems(collection: SigmaCollection, yaml_text: str) -> list[RuleProblem]:
    problems = [RuleProblem("invalid", _error_text(e)) for e in collection.errors]
    for rule in collection.rules:
        problems += [RuleProblem("invalid", _error_text(e)) for e in rule.errors]
    return problems


def _error_text(exc: Exception) -> str:
    # pySigma appends " in <path>" of an unnamed source; the caller knows which file it is.
    return re.sub(r" in /[^ ]*$", "", str(exc))


def _yaml_problem(exc: yaml.YAMLError) -> RuleProblem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return RuleProblem("yaml", f"YAML syntax error: {problem}", mark.line + 1 if mark else None)


def _unmapped_fields(rule: SigmaRule, profile: Profile) -> list[str]:
    names = {item.field for item in detection_items(rule) if item.field}
    return sorted(name for name in names if not profile.ecs_fields(name))


def detection_items(rule: SigmaRule) -> Iterator[SigmaDetectionItem]:
    for detection in rule.detection.detections.values():
        yield from _items(detection)


def _items(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _items(item)
        elif isinstance(item, SigmaDetectionItem):
            yield item


def modifier_names(item: SigmaDetectionItem) -> list[str]:
    return [_MODIFIER_NAMES.get(modifier, modifier.__name__) for modifier in item.modifiers]


def rule_modifiers(rule: SigmaRule) -> set[str]:
    return {name for item in detection_items(rule) for name in modifier_names(item)}


def _modifier_problems(rule: SigmaRule, profile: Profile, yaml_text: str) -> list[RuleProblem]:
    """A modifier our query would not match as Sigma means it: refused, with why (never quietly changed)."""
    problems: dict[str, RuleProblem] = {}
    for item in detection_items(rule):
        for name in modifier_names(item):
            reason = _unfaithful(name, item.field, profile)
            key = f"{item.field or ''}|{name}"
            if reason and key not in problems:
                problems[key] = RuleProblem("modifier", f"'{key}' {reason}",
                                            _line_of(yaml_text, item.field) if item.field else None, item.field)
    return list(problems.values())


def _unfaithful(name: str, sigma_field: str | None, profile: Profile) -> str | None:
    if name == "cidr":
        targets = profile.cidr_targets(sigma_field) if sigma_field else []
        if targets and all(field_types().get(t) == "ip" for t in targets):
            return None
        return (f"needs an ip-typed field, and {', '.join(targets) or 'a keyword'} holds text for "
                f"{profile.key} events: a CIDR matched as text would never match")
    if name in NUMERIC_MODIFIERS:
        targets = profile.ecs_fields(sigma_field) if sigma_field else []
        if targets and all(field_types().get(t) in NUMERIC_TYPES for t in targets):
            return None
        return f"compares numbers, and {', '.join(targets) or 'a keyword'} holds text (compared as text)"
    if name in FAITHFUL_MODIFIERS:
        return None
    return REFUSED_MODIFIERS.get(name, "is not implemented by this converter")


def _line_of(yaml_text: str, key: str) -> int | None:
    """1-based line of the first YAML key ``key`` (with or without modifiers), best effort."""
    pattern = re.compile(rf"^\s*-?\s*['\"]?{re.escape(key)}(\|[\w|]*)?['\"]?\s*:", re.MULTILINE)
    match = pattern.search(yaml_text)
    return yaml_text.count("\n", 0, match.start()) + 1 if match else None
