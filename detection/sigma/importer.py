"""Import a folder of Sigma rules: for each file, the converted rule or exactly why not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from detection.sigma.convert import ConvertedRule, RuleProblem, convert_rule


@dataclass(frozen=True)
class RuleImport:
    path: Path
    rule: ConvertedRule

    @property
    def imported(self) -> bool:
        return self.rule.ok


@dataclass
class ImportReport:
    results: list[RuleImport] = field(default_factory=list)

    @property
    def imported(self) -> list[RuleImport]:
        return [r for r in self.results if r.imported]

    @property
    def rejected(self) -> list[RuleImport]:
        return [r for r in self.results if not r.imported]

    def reasons(self) -> Counter[str]:
        """Rejections per problem kind (yaml, invalid, logsource, field, conversion)."""
        return Counter(r.rule.problems[0].kind for r in self.rejected)

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.reasons().most_common())
        return f"{len(self.imported)} of {len(self.results)} rules imported; rejected: {kinds or 'none'}"


def import_folder(path: str | Path) -> ImportReport:
    """Convert every ``*.yml``/``*.yaml`` under ``path``; unreadable files are reported, not raised."""
    report = ImportReport()
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    for file in files:
        report.results.append(RuleImport(file, _convert_file(file)))
    return report


def _convert_file(file: Path) -> ConvertedRule:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ConvertedRule(problems=[RuleProblem("yaml", f"cannot read file: {exc}")])
    return convert_rule(text)
