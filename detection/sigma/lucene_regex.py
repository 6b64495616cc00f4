"""Sigma regular expressions (Python ``re.search`` semantics) rewritten for Elasticsearch ``regexp``.

Lucene regular expressions differ in ways that make a Sigma ``|re`` silently match nothing:
they are anchored to the whole value, know no ``\\s``/``\\d``/``\\w`` classes, no ``(?:`` groups,
no ``(?i)`` flag, no lazy quantifiers, and treat ``@ & ~ < > # "`` as operators. ``to_lucene``
rewrites a pattern so that it matches the same values: unanchored ends get ``.*``, classes are
spelled out, and a case-insensitive pattern is lowercased to run on the ``.lc`` sub-field (which
holds the lowercased value), exactly as plain Sigma values do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.processing.transformations.base import ValueTransformation
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaType

CLASSES = {"s": " \t\r\n\f\v", "d": "0-9", "w": "A-Za-z0-9_"}
LUCENE_OPERATORS = set('@&~<>#"')
CONTROL = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}


def to_lucene(pattern: str, ignore_case: bool = False) -> tuple[str, bool]:
    """(Lucene pattern, whether it must run on the lowercased sub-field)."""
    if pattern.startswith("(?i)"):
        pattern, ignore_case = pattern[4:], True
    anchored_start, pattern = pattern.startswith("^"), pattern.removeprefix("^")
    anchored_end = pattern.endswith("$") and not pattern.endswith("\\$")
    if anchored_end:
        pattern = pattern[:-1]
    body = _translate(pattern)
    if ignore_case:
        body = body.lower()
    # Grouped, so a top-level alternation stays inside the unanchored ends.
    return ("" if anchored_start else ".*") + f"({body})" + ("" if anchored_end else ".*"), ignore_case


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(_escape(pattern[i + 1], in_class))
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif not in_class and pattern.startswith("(?:", i):
            out.append("(")
            i += 3
            continue
        elif not in_class and char in "*+?}" and i + 1 < len(pattern) and pattern[i + 1] == "?":
            out.append(char)  # lazy and greedy match the same whole values
            i += 2
            continue
        out.append("\\" + char if char in LUCENE_OPERATORS else char)
        i += 1
    return "".join(out)


def _escape(char: str, in_class: bool) -> str:
    if char.lower() in CLASSES:
        members = CLASSES[char.lower()]
        if char.islower():
            return members if in_class else f"[{members}]"
        return f"[^{members}]"  # \S \D \W (inside a class this widens it; rare in Sigma rules)
    if char in CONTROL:
        return CONTROL[char]
    if char == "b":
        return ""  # no word boundaries in Lucene: the rest of the pattern still has to match
    return "\\" + char


class CaselessRegularExpression(SigmaRegularExpression):
    """A regular expression already lowercased: it searches the lowercase sub-field."""


@dataclass
class LuceneRegexTransformation(ValueTransformation):
    """Rewrite every ``|re`` value of a rule for Elasticsearch (see the module docstring)."""

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | None:
        if not isinstance(val, SigmaRegularExpression) or isinstance(val, CaselessRegularExpression):
            return None  # None keeps the value as it is
        ignore_case = SigmaRegularExpressionFlag.IGNORECASE in val.flags
        pattern, caseless = to_lucene(str(val.regexp), ignore_case)
        return (CaselessRegularExpression if caseless else SigmaRegularExpression)(pattern)
