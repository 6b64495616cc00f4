"""STIX 2.1 indicator patterns, parsed by the OASIS pattern grammar, reduced to what the engine can match.

The engine matches one indicator value against one event field (``detection.matching``), so a pattern is
used only as far as it means "any of these values": equality (``=``) and ``IN`` on an IP, domain, URL or
file hash, joined by ``OR``. An ``AND`` of hashes names one file by several digests, so each digest alone
is as good. Everything else (other objects and properties, ``AND`` of different things, ``NOT``,
``MATCHES``/``LIKE``/orderings, ``FOLLOWEDBY``, ``WITHIN``/``REPEATS``/``START``) would need several
events or a test the engine has no field for: it is refused with the reason, never narrowed or widened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stix2 import patterns as ast
from stix2.pattern_visitor import create_pattern_object
from stix2patterns.exceptions import ParseException

VALUE_PATHS = {"ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain", "url": "url"}
HASH_NAMES = {"md5", "sha-1", "sha1", "sha-256", "sha256"}


@dataclass
class PatternTerms:
    """(type, value) pairs the engine can match, each on its own, and why the rest of the pattern is not used."""

    terms: list[tuple[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def add(self, other: PatternTerms) -> None:
        self.terms += other.terms
        self.refused += other.refused


def pattern_terms(pattern: str) -> PatternTerms:
    """What of ``pattern`` the engine can match; a pattern the grammar rejects is refused as a whole."""
    try:
        tree = create_pattern_object(pattern, version="2.1")
    except ParseException as exc:
        return PatternTerms(refused=[f"not a STIX 2.1 pattern: {exc}"])
    return _walk(tree)


def _walk(node: Any) -> PatternTerms:
    if isinstance(node, ast.OrObservationExpression | ast.OrBooleanExpression):
        found = PatternTerms()
        for operand in node.operands:
            found.add(_walk(operand))
        return found
    if isinstance(node, ast.ObservationExpression):
        return _walk(node.operand)
    if isinstance(node, ast.ParentheticalExpression):
        return _walk(node.expression)
    if isinstance(node, ast.AndBooleanExpression):
        return _same_file_hashes(node)
    if isinstance(node, ast.QualifiedObservationExpression):
        return _refused(node, f"the qualifier {node.qualifier} needs several events; the engine matches one")
    if isinstance(node, ast.FollowedByObservationExpression | ast.AndObservationExpression):
        return _refused(node, f"{node.operator} joins several observations; the engine matches one event")
    if isinstance(node, ast.EqualityComparisonExpression | ast.InComparisonExpression):
        return _comparison(node)
    return _refused(node, "a comparison the engine has no match for")


def _comparison(node: ast.EqualityComparisonExpression | ast.InComparisonExpression) -> PatternTerms:
    kind = _field_kind(node.lhs)
    if kind is None:
        return _refused(node, f"{node.lhs} is not a field the engine matches")
    if node.negated:
        return _refused(node, "a negated comparison matches almost every event")
    values = node.rhs.value if isinstance(node, ast.InComparisonExpression) else [node.rhs]
    if not all(isinstance(value, ast.StringConstant) for value in values):
        return _refused(node, "the value is not a string")
    return PatternTerms(terms=[(kind, _unescaped(value.value)) for value in values])


def _same_file_hashes(node: ast.AndBooleanExpression) -> PatternTerms:
    """Several digests of one file: any one of them names it, so each is used alone."""
    found = PatternTerms()
    for operand in node.operands:
        found.add(_walk(operand))
    if found.refused or any(kind != "hash" for kind, _ in found.terms):
        return _refused(node, "AND of different values: the engine matches one value at a time")
    return found


def _field_kind(path: Any) -> str | None:
    if not isinstance(path, ast.ObjectPath):
        return None
    names = [getattr(part, "property_name", None) for part in path.property_path]
    if path.object_type_name in VALUE_PATHS and names == ["value"]:
        return VALUE_PATHS[path.object_type_name]
    if (path.object_type_name == "file" and len(names) == 2 and names[0] == "hashes"
            and str(names[1]).lower() in HASH_NAMES):
        return "hash"
    return None


def _unescaped(literal: str) -> str:
    """The grammar keeps a string's escapes (``\\'`` and ``\\\\``); the value is what they stand for."""
    return re.sub(r"\\(.)", r"\1", literal)


def _refused(node: Any, reason: str) -> PatternTerms:
    return PatternTerms(refused=[f"{str(node)[:200]}: {reason}"])
