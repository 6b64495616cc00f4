"""SLA policy: the national targets and the provinces' overrides (audited)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from incidents.models import Severity, SlaPolicy
from incidents.sla import DEFAULT_TARGETS
from organisations.actors import Actor
from organisations.models import Organisation
from organisations.services import audit_record


def sla_policy_defaults_ensure(*, national: Organisation) -> int:
    """The national policy rows, from the built-in targets, where none exist yet; returns how many were made."""
    made = 0
    for severity, targets in DEFAULT_TARGETS.items():
        _, created = SlaPolicy.objects.get_or_create(organisation=national, severity=severity, defaults={
            "acknowledge_minutes": targets.acknowledge_minutes, "contain_minutes": targets.contain_minutes,
            "resolve_minutes": targets.resolve_minutes})
        made += created
    return made


SLA_FIELDS = ("acknowledge_minutes", "contain_minutes", "resolve_minutes", "business_hours_only",
              "business_day_start", "business_day_end")
SLA_MAX_MINUTES = 366 * 24 * 60


def _sla_check(values: Mapping[str, Any]) -> None:
    ack, contain, resolve = (int(values[f]) for f in ("acknowledge_minutes", "contain_minutes", "resolve_minutes"))
    if not 1 <= ack <= contain <= resolve <= SLA_MAX_MINUTES:
        raise ValidationError("Times must be at least 1 minute, at most a year, and acknowledge ≤ contain ≤ resolve.")
    if values.get("business_hours_only") and not values["business_day_start"] < values["business_day_end"]:
        raise ValidationError("The business day must start before it ends.")


def sla_policy_set(*, organisation: Organisation, severity: str, values: Mapping[str, Any],
                   actor: Actor) -> SlaPolicy:
    """The national row is the default; a province's row overrides it. New targets apply to incidents opened
    from now on: an open incident keeps the due times it was promised when it opened."""
    if severity not in Severity.values:
        raise ValidationError(f"Unknown severity {severity!r}.")
    current = SlaPolicy.objects.filter(organisation=organisation, severity=severity).first()
    base = current or SlaPolicy()  # a blank row carries the model's defaults
    merged = {f: values.get(f, getattr(base, f)) for f in SLA_FIELDS}
    _sla_check(merged)
    with transaction.atomic():
        before = {f: _plain(getattr(current, f)) for f in SLA_FIELDS} if current else {}
        policy, _ = SlaPolicy.objects.update_or_create(organisation=organisation, severity=severity,
                                                      defaults=merged)
        audit_record(actor=actor, action="sla_policy.set", object_type="sla_policy",
                     object_ref=f"{organisation.code}:{severity}", organisation=organisation, before=before,
                     after={f: _plain(v) for f, v in merged.items()})
    return policy


def sla_policy_clear(*, organisation: Organisation, severity: str, actor: Actor) -> bool:
    """Drop a province's override so the national policy applies again; the national rows stay."""
    if organisation.parent_id is None:
        raise ValidationError("The national policy can be changed but not removed.")
    with transaction.atomic():
        current = SlaPolicy.objects.select_for_update().filter(organisation=organisation, severity=severity).first()
        if current is None:
            return False
        audit_record(actor=actor, action="sla_policy.cleared", object_type="sla_policy",
                     object_ref=f"{organisation.code}:{severity}", organisation=organisation,
                     before={f: _plain(getattr(current, f)) for f in SLA_FIELDS})
        current.delete()
    return True


def _plain(value: Any) -> Any:
    """JSON-safe values for the audit log (times as HH:MM)."""
    return value.strftime("%H:%M") if hasattr(value, "strftime") else value
