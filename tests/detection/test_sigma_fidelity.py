"""Every SigmaHQ rule of the corpus: converted with modifiers whose meaning we keep, or refused with a reason.

The modifiers are read here from the YAML itself (``Field|mod1|mod2:``), independently of the converter,
and checked against the list below, which says why each one means on our events what Sigma means.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from detection.sigma import convert_rule
from detection.sigma.mapping import field_types

# Modifier -> why our query means what Sigma means.
KEPT = {
    "contains": "wildcards on the lowercase sub-field: Sigma matches text case-insensitively",
    "startswith": "as contains",
    "endswith": "as contains",
    "all": "the values ANDed instead of ORed",
    "windash": "each dash variant (-, /, en dash...) as its own value",
    "base64": "the encoded value, matched as text",
    "base64offset": "the three encodings of the value at each offset",
    "wide": "UTF-16LE bytes, then encoded by the next modifier",
    "utf16": "as wide, with a byte order mark",
    "utf16be": "as wide, big-endian",
    "re": "rewritten for Lucene (lucene_regex): same values, on the exact field (Sigma regexes keep case)",
    "i": "the regex lowercased, on the lowercase sub-field",
    "s": "Lucene's . matches a line break too",
    "cased": "the exact field instead of the lowercase sub-field",
    "exists": "_exists_ on the field",
    "cidr": "a term query on an ip-typed field (checked below for every rule that uses it)",
}
SIGMA_FOLDERS = ("rules", "rules-emerging-threats", "rules-threat-hunting")
# A CIDR in the query: an address (IPv4, or IPv6 with escaped colons), an escaped slash and a prefix length.
CIDR_TERM = re.compile(r"([\w.@-]+):((?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F\\:]*\\:[0-9a-fA-F\\:]*)\\/\d{1,3}")


def modifiers_in(text: str) -> set[str]:
    """Modifiers in the detection of every document of a rule file (a correlation carries its rules)."""
    found: set[str] = set()
    for document in yaml.safe_load_all(text):
        detection = document.get("detection") if isinstance(document, dict) else None
        if isinstance(detection, dict):
            _collect(detection, found)
    return found


def _collect(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            found.update(str(key).split("|")[1:])
            _collect(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect(item, found)


def cidr_fields(lucene: str) -> set[str]:
    return {match.group(1) for match in CIDR_TERM.finditer(lucene)}


def test_every_sigmahq_rule_keeps_its_modifiers_meaning_or_is_refused_with_a_reason(sigma_rules: Path) -> None:
    started = time.process_time()
    files = sorted(p for folder in SIGMA_FOLDERS for p in (sigma_rules.parent / folder).rglob("*.yml"))
    used: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    changed: list[str] = []
    ip_fields = {name for name, kind in field_types().items() if kind == "ip"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        rule, modifiers = convert_rule(text), modifiers_in(text)
        if not rule.ok:
            assert all(problem.message for problem in rule.problems), path
            refused.update(p.message.split("'")[1] for p in rule.problems if p.kind == "modifier")
            continue
        used.update(modifiers)
        changed += [f"{path.name}: |{name}" for name in modifiers - set(KEPT)]
        if "cidr" in modifiers and rule.lucene is not None:
            cidr_on = cidr_fields(rule.lucene)
            changed += [f"{path.name}: cidr on {name}" for name in cidr_on - ip_fields]
            changed += [f"{path.name}: cidr not in its query"] if not cidr_on else []
    report = f"modifiers of converted rules: {dict(used.most_common())}; refused: {dict(refused)}"
    print(report)  # the report this test is for, shown with -s

    assert len(files) >= 3700
    assert changed == [], report
    assert used["cidr"] >= 15, report
    assert sum(refused.values()) >= 5 and all("fieldref" in r or "expand" in r for r in refused), report
    assert time.process_time() - started < 60
