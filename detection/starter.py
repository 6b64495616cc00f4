"""The starter rule pack (``rules/*.yml``): load it as rules, and build each rule's test events.

A file holds the rule (``name``, ``kind``, ``params`` or ``sigma``, metadata) and ``tests``
(``positive`` / ``negative`` events, and ``indicators`` the rule needs). Test events are real
log lines run through the collector's own parsers, or ECS documents, stamped relative to now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from collectors.agent.parsers import parse_line
from collectors.agent.parsers.base import ParseContext
from detection.authoring import rule_create, rule_update
from detection.kinds import RuleInvalid
from detection.models import DetectionRule, RuleKind
from incidents.models import Playbook
from organisations.actors import Actor

RULES_DIR = Path(settings.BASE_DIR) / "rules"
RULE_FIELDS = ("name", "kind", "severity", "category", "tactics", "techniques", "description", "params",
               "exceptions", "interval_seconds", "suppress_seconds", "lookback_seconds")


def starter_files(folder: Path = RULES_DIR) -> list[Path]:
    return sorted(folder.glob("*.yml"))


def starter_read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(rule data for ``rule_create``, tests) of one pack file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    data = {k: raw[k] for k in RULE_FIELDS if k in raw}
    if raw.get("sigma"):
        data["kind"], data["params"] = RuleKind.SIGMA, {"yaml": raw["sigma"]}
    if raw.get("playbook"):  # by its slug; none until the starter playbooks are loaded (load_playbooks)
        data["playbook"] = Playbook.objects.filter(slug=raw["playbook"]).first()
    return data, raw.get("tests") or {}


def starter_rules_load(*, actor: Actor, folder: Path = RULES_DIR) -> list[tuple[str, str]]:
    """Create or update (a new version) each pack rule; (file, "created" | "updated" | "invalid: ...")."""
    results = []
    for path in starter_files(folder):
        data, _ = starter_read(path)
        existing = DetectionRule.objects.filter(name=data.get("name", "")).first()
        try:
            if existing is None:
                rule_create(actor=actor, data=data)
            else:
                rule_update(rule=existing, actor=actor, data={k: v for k, v in data.items() if k != "name"})
        except RuleInvalid as exc:
            results.append((path.name, f"invalid: {exc}"))
            continue
        results.append((path.name, "updated" if existing else "created"))
    return results


def starter_events(specs: list[dict[str, Any]], *, org: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """ECS documents for a list of test event specs (see rules/README.md)."""
    now = now or datetime.now(UTC)
    ctx = ParseContext(now=now)
    docs = []
    for spec in specs:
        values = spec.get("vary") or list(range(int(spec.get("repeat", 1))))
        for i, value in enumerate(values):
            moment = now - timedelta(seconds=float(spec.get("at", 30)) - i)
            docs.append(_event(spec, moment, ctx, org, {"n": str(value), "i": str(i)}))
    return docs


def _event(spec: dict[str, Any], moment: datetime, ctx: ParseContext, org: str, subs: dict[str, str]) -> dict[str, Any]:
    if "line" in spec:
        local = moment.astimezone(ctx.tz)
        line = _fill(spec["line"], {**subs, "syslog": local.strftime("%b %d %H:%M:%S"),
                                    "clf": moment.strftime("%d/%b/%Y:%H:%M:%S +0000")})
        doc = parse_line(line, ctx)
    else:
        doc = _fill(spec["doc"], subs)
        doc["@timestamp"] = moment.isoformat()
    doc["organization"] = {"id": org}
    doc.setdefault("event", {})["ingested"] = datetime.now(UTC).isoformat()
    return doc


def _fill(value: Any, subs: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, sub in subs.items():
            value = value.replace("{" + key + "}", sub)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, subs) for v in value]
    return value
