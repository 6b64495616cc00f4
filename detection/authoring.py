"""Writing rules: create, edit (a new version each time), import Sigma folders, test-run.

Every save compiles the rule first (``detection.kinds.rule_compile``): an invalid
rule raises ``RuleInvalid`` with each problem and nothing is stored, so a broken
edit can never replace a working rule or stop other rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from collectors.agent.parsers.base import isoformat_utc
from detection.alerts import alert_uid, entity_of
from detection.kinds import RuleInvalid, exceptions_check, rule_compile
from detection.models import DetectionRule, RuleKind, RuleProvinceState, RuleVersion
from detection.services import rule_evaluate, rule_window
from organisations.actors import Actor
from organisations.models import Kind, Organisation
from organisations.services import audit_record

# What an author may set; checkpoint, state and version are the engine's.
EDITABLE = ("name", "kind", "enabled", "description", "organisation", "params", "severity", "category",
            "exceptions", "interval_seconds", "lookback_seconds", "delay_seconds", "use_ingest_time",
            "max_alerts_per_run", "suppress_seconds", "tactics", "techniques", "playbook")
SNAPSHOT = tuple(f for f in EDITABLE if f not in ("organisation", "playbook"))
# What rule runs write: an edit never saves these from its (possibly older) copy of the rule.
ENGINE_STATE = ("checkpoint", "backfill_checkpoint", "next_run_at", "last_error", "consecutive_errors",
                "last_run_at", "last_duration_ms", "last_cycle_ms")
MAX_TEST_FINDINGS = 500


def rule_create(*, actor: Actor, data: dict[str, Any]) -> DetectionRule:
    rule = DetectionRule(kind=data.get("kind", ""), name=data.get("name", ""))
    return _save(rule, actor=actor, data=data, created=True)


def rule_update(*, rule: DetectionRule, actor: Actor, data: dict[str, Any]) -> DetectionRule:
    """A new version of ``rule``; window state is kept unless the detection logic changed.

    Two edits of one rule are serialised on its row lock, and each applies its changes to the rule as the
    other left it (``rule`` is refreshed under the lock), so they make two versions, never a conflict.
    A rule run holds the same lock while it evaluates (bounded by the detection timeouts); an edit waits for it
    up to EDIT_LOCK_WAIT and then answers that the rule is busy.
    """
    with transaction.atomic():
        _lock_for_edit(rule)
        return _save(rule, actor=actor, data=data, created=False)


EDIT_LOCK_WAIT = "15s"


def _lock_for_edit(rule: DetectionRule) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{EDIT_LOCK_WAIT}'")
    try:
        DetectionRule.objects.select_for_update(of=("self",)).filter(pk=rule.pk).values_list("pk").get()
    except OperationalError as exc:
        raise RuleInvalid([{"field": "rule", "message": "the rule is being evaluated right now; "
                                                        "try again in a moment"}]) from exc
    rule.refresh_from_db()  # read under the lock: the version and state as the last edit or run left them
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = 0")


def _save(rule: DetectionRule, *, actor: Actor, data: dict[str, Any], created: bool) -> DetectionRule:
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise RuleInvalid([{"field": name, "message": "this field cannot be set"} for name in sorted(unknown)])
    logic_before = (rule.kind, rule.params, rule.exceptions)
    before = {} if created else rule_snapshot(rule)
    for name, value in data.items():
        setattr(rule, name, value)
    _check_basics(rule)
    compiled = rule_compile(rule.kind, rule.params)
    rule.kind, rule.compiled = compiled.kind, compiled.compiled
    _apply_sigma_meta(rule, compiled.meta, data)
    with transaction.atomic():
        if not created and (rule.kind, rule.params, rule.exceptions) != logic_before:
            rule.group_states.all().delete()  # consumed windows of other logic mean nothing now
        if not created and rule.organisation is not None:
            rule.province_states.all().delete()  # a province's own rule is switched by its scope and enabled flag
        if not created:
            rule.version += 1
        try:
            if created:
                rule.save()
            else:
                rule.save(update_fields=[f for f in rule_fields() if f not in ENGINE_STATE])
        except IntegrityError as exc:
            raise RuleInvalid([{"field": "name", "message": "a rule with this name already exists"}]) from exc
        after = rule_snapshot(rule)
        RuleVersion.objects.create(rule=rule, version=rule.version, snapshot=after, author=actor.user)
        changed = [name for name in after if before.get(name) != after[name]]
        _audit(rule, actor=actor, action="rule.created" if created else "rule.updated",
               before={name: before[name] for name in changed if name in before},
               after={"version": rule.version, **{name: after[name] for name in changed}})
    return rule


def rule_fields() -> list[str]:
    return [f.name for f in DetectionRule._meta.concrete_fields if not f.primary_key]


def rule_delete(*, rule: DetectionRule, actor: Actor) -> None:
    """The rule, its versions, runs and alerts go; the audit log keeps what it was."""
    with transaction.atomic():
        _audit(rule, actor=actor, action="rule.deleted", before={"version": rule.version, **rule_snapshot(rule)})
        rule.delete()


def rule_province_set(*, rule: DetectionRule, province: Organisation, enabled: bool, actor: Actor) -> None:
    """Switch a national rule off (or back on) for one province; its runs leave that province's events out."""
    if rule.organisation is not None:
        raise RuleInvalid([{"field": "province", "message": "only a national rule is switched per province"}])
    if province.kind != Kind.PROVINCE:
        raise RuleInvalid([{"field": "province", "message": f"{province.code} is not a province"}])
    with transaction.atomic():
        state = RuleProvinceState.objects.select_for_update().filter(rule=rule, province=province).first()
        was = True if state is None else state.enabled
        if was == enabled:
            return
        RuleProvinceState.objects.update_or_create(rule=rule, province=province, defaults={"enabled": enabled})
        _audit(rule, actor=actor, action="rule.province_enabled" if enabled else "rule.province_disabled",
               before={"province": province.code, "enabled": was}, after={"province": province.code,
                                                                          "enabled": enabled})


def _audit(rule: DetectionRule, *, actor: Actor, action: str, before: dict[str, Any],
           after: dict[str, Any] | None = None) -> None:
    """Recorded in the rule's own organisation; a national rule's changes in the national one."""
    organisation = rule.organisation or Organisation.objects.national()
    audit_record(actor=actor, action=action, object_type="detection_rule", object_ref=str(rule.pk),
                 organisation=organisation, before=before, after=after)


def _check_basics(rule: DetectionRule) -> None:
    problems = []
    if not str(rule.name or "").strip():
        problems.append({"field": "name", "message": "a rule needs a name"})
    if rule.kind not in RuleKind.values:
        problems.append({"field": "kind", "message": f"kind must be one of {', '.join(RuleKind.values)}"})
    if not 1 <= int(rule.interval_seconds or 0) <= 86400:
        problems.append({"field": "interval_seconds", "message": "interval_seconds must be 1..86400"})
    if not 1 <= int(rule.max_alerts_per_run or 0) <= 10000:
        problems.append({"field": "max_alerts_per_run", "message": "max_alerts_per_run must be 1..10000"})
    if problems:
        raise RuleInvalid(problems)
    rule.exceptions = exceptions_check(rule.exceptions)


def _apply_sigma_meta(rule: DetectionRule, meta: dict[str, Any], data: dict[str, Any]) -> None:
    """A Sigma rule's own level, description and ATT&CK tags, unless the author set them."""
    for name in ("severity", "description", "tactics", "techniques"):
        if meta.get(name) and name not in data:
            setattr(rule, name, meta[name])


def rule_snapshot(rule: DetectionRule) -> dict[str, Any]:
    snap = {name: getattr(rule, name) for name in SNAPSHOT}
    snap["organisation"] = rule.organisation.code if rule.organisation else None
    snap["playbook"] = rule.playbook.slug if rule.playbook else None
    return snap


# --- Sigma folder import ------------------------------------------------------------------------------

SIGMA_LEVEL_ORDER = ("informational", "low", "medium", "high", "critical")
SIGMA_STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported")


@dataclass(frozen=True)
class SigmaEnablePolicy:
    """Which imported Sigma rules are switched on: SigmaHQ's informational and low rules describe activity,
    not attacks (``User Logoff Event``), and experimental ones are untested: left off unless asked for."""

    min_level: str = "medium"
    statuses: frozenset[str] = frozenset({"stable", "test"})

    def why_off(self, level: str | None, status: str | None) -> str | None:
        """Why a rule of this level and status stays off; None when it is switched on."""
        if level not in SIGMA_LEVEL_ORDER or SIGMA_LEVEL_ORDER.index(level) < SIGMA_LEVEL_ORDER.index(self.min_level):
            return f"level {level or 'unset'} is below {self.min_level}"
        if status not in self.statuses:
            return f"status {status or 'unset'} is not {'/'.join(sorted(self.statuses))}"
        return None


@dataclass
class ImportLine:
    path: str
    imported: bool
    rule_id: int | None = None
    reasons: list[str] = field(default_factory=list)
    enabled: bool = False
    off_because: str = ""  # why an imported rule was left off by the enable policy


def sigma_folder_import(*, folder: str | Path, actor: Actor, enabled: bool = True,
                        organisation: Organisation | None = None,
                        policy: SigmaEnablePolicy | None = None) -> list[ImportLine]:
    """Every ``*.yml``/``*.yaml`` under ``folder`` imported as a rule, or exactly why not.

    With ``enabled``, a rule is switched on only if ``policy`` (when given) lets its level and status through.
    """
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    lines = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            lines.append(ImportLine(str(file), False, reasons=[f"cannot read file: {exc}"]))
            continue
        lines.append(sigma_text_import(path=str(file), text=text, actor=actor, enabled=enabled,
                                       organisation=organisation, policy=policy))
    return lines


def sigma_text_import(*, path: str, text: str, actor: Actor, enabled: bool = True,
                      organisation: Organisation | None = None,
                      policy: SigmaEnablePolicy | None = None) -> ImportLine:
    """One Sigma file as a rule: created, or a new version of the rule with its title; else why not."""
    try:
        meta = rule_compile(RuleKind.SIGMA, {"yaml": text}).meta
        title = str(meta.get("title") or Path(path).stem)[:200]
        off = policy.why_off(meta.get("sigma_level"), meta.get("sigma_status")) if enabled and policy else None
        data = {"kind": RuleKind.SIGMA, "params": {"yaml": text}, "enabled": enabled and off is None,
                "organisation": organisation}
        existing = DetectionRule.objects.filter(name=title).first()
        if existing is None:
            rule = rule_create(actor=actor, data={"name": title, **data})
        else:
            rule = rule_update(rule=existing, actor=actor, data=data)
    except RuleInvalid as exc:
        return ImportLine(path, False, reasons=[str(p.get("message")) for p in exc.problems])
    return ImportLine(path, True, rule_id=rule.pk, enabled=rule.enabled, off_because=off or "")


# --- test mode ----------------------------------------------------------------------------------------

def rule_test_run(*, rule: DetectionRule, start: datetime, end: datetime) -> dict[str, Any]:
    """What ``rule`` would have found over [start, end]: no alert, no incident, no state is written."""
    if end <= start:
        raise RuleInvalid([{"field": "end", "message": "end must be after start"}])
    end = min(end, timezone.now())
    outcome = rule_evaluate(rule=rule, window=rule_window(rule, start, end))
    findings = sorted(outcome.findings, key=lambda f: f.first)
    return {
        "rule": rule.pk, "start": isoformat_utc(start), "end": isoformat_utc(end), "hits": outcome.hits,
        "error": outcome.error, "would_alert": len(findings), "truncated": len(findings) > MAX_TEST_FINDINGS,
        "findings": [_finding_view(rule, f) for f in findings[:MAX_TEST_FINDINGS]],
    }


def _finding_view(rule: DetectionRule, finding: Any) -> dict[str, Any]:
    kind, value = entity_of(finding.group)
    return {"alert_id": alert_uid(rule, finding), "group": finding.group, "entity": {"kind": kind, "value": value},
            "first": isoformat_utc(finding.first), "last": isoformat_utc(finding.last), "count": finding.count,
            "event_refs": finding.event_refs[:20], "details": finding.details}
