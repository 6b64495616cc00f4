"""Running detection rules: checkpointed, locked per rule, idempotent.

Preconditions: a run holds its rules' row locks (SELECT ... FOR UPDATE SKIP
LOCKED) for the whole run, so two schedulers or workers never evaluate the same
rule at once. Alerts have deterministic ids: the Elasticsearch document is
written with ``op_type: create`` and the ``Alert`` row is unique on the same id,
so a run repeated after a crash (whose transaction rolled back) recreates the
row and the incident exactly once, and never a twin.

Rule authoring lives in ``detection.authoring``; alerts → incidents in ``detection.alerts``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone as dj_timezone
from elasticsearch import Elasticsearch

from detection import matching
from detection.alerts import alert_raise
from detection.engine import Finding, Window, evaluate_sequence, evaluate_threshold, exception_clauses, group_key
from detection.kinds import correlation_from_compiled
from detection.models import DetectionRule, GroupState, Indicator, RuleKind, RuleRun
from detection.sigma import evaluate_correlation
from detection.terms import evaluate_new_term, evaluate_silence
from organisations.models import Organisation
from soc import es

log = logging.getLogger(__name__)
# Never look further back than this on a first run or after a long outage.
MAX_LOOKBACK = timedelta(hours=24)
# A checkpoint older than this many intervals means runs were missed: a gap.
GAP_INTERVALS = 3
# One run back-fills at most this much; the next run, scheduled at once, continues.
BACKFILL_CAP = timedelta(hours=1)
# Rules answered from plain event searches, batched many per _msearch.
BATCHED_KINDS = (RuleKind.SIGMA, RuleKind.INDICATOR)
SEARCH_TIMEOUT = "10s"
SCHEDULE_SLACK = timedelta(seconds=1)


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    hits: int = 0
    error: str = ""


@dataclass
class Plan:
    """One rule's run: its window, and what the previous checkpoint says about it."""

    rule: DetectionRule
    window: Window
    gap_seconds: int = 0
    backfill_capped: bool = False


def due_rule_ids(*, now: datetime) -> list[int]:
    return list(
        DetectionRule.objects.filter(enabled=True)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .order_by("next_run_at", "pk")
        .values_list("id", flat=True)
    )


def rule_run(*, rule_id: int, now: datetime | None = None) -> RuleRun | None:
    """Evaluate one rule from its checkpoint to now; None when another run holds it."""
    runs = rules_run(rule_ids=[rule_id], now=now)
    return runs[0] if runs else None


def rules_run(*, rule_ids: list[int], now: datetime | None = None) -> list[RuleRun]:
    """Evaluate these rules; Sigma and indicator rules share one ``_msearch``. Locked rules are skipped."""
    now = now or dj_timezone.now()
    with transaction.atomic():
        rules = list(DetectionRule.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(pk__in=rule_ids, enabled=True).order_by("pk")
                     .prefetch_related("province_states__province"))
        plans = [rule_plan(rule=rule, now=now) for rule in rules]
        batched = _msearch_outcomes([p for p in plans if p.rule.kind in BATCHED_KINDS])
        runs = []
        for plan in plans:
            began = time.monotonic()
            outcome = batched.get(plan.rule.pk) or _evaluate_safely(plan)
            runs.append(_finish(plan, outcome, now, began))
        return runs


def rule_plan(*, rule: DetectionRule, now: datetime) -> Plan:
    """[checkpoint - look-back, now - delay], with gaps detected and back-fill capped."""
    end = now - timedelta(seconds=rule.delay_seconds)
    interval = timedelta(seconds=max(rule.interval_seconds, 1))
    checkpoint = rule.checkpoint or end - interval
    gap = 0
    if end - checkpoint > interval * GAP_INTERVALS:
        gap = int((end - checkpoint - interval).total_seconds())
    checkpoint = max(checkpoint, now - MAX_LOOKBACK)
    capped = end - checkpoint > BACKFILL_CAP
    if capped:
        end = checkpoint + BACKFILL_CAP
    start = checkpoint - timedelta(seconds=rule.lookback_seconds) - _kind_span(rule)
    return Plan(rule=rule, window=rule_window(rule, start, end), gap_seconds=gap, backfill_capped=capped)


def rule_window(rule: DetectionRule, start: datetime, end: datetime) -> Window:
    """The rule's events between start and end: its province scope and exceptions applied."""
    scope: tuple[dict[str, Any], ...] = ()
    if rule.organisation is not None:
        subtree = Organisation.objects.filter(path__startswith=rule.organisation.path)
        codes = list(subtree.values_list("code", flat=True))
        scope = tuple(es.scope_filter(codes))
    exceptions = exception_clauses(rule.exceptions)
    switched_off = _switched_off_codes(rule)
    if switched_off:
        exceptions += ({"terms": {"organization.id": switched_off}},)
    return Window(start=start, end=end, time_field="event.ingested" if rule.use_ingest_time else "@timestamp",
                  scope=scope, exceptions=exceptions)


def _switched_off_codes(rule: DetectionRule) -> list[str]:
    """Organisation codes of every province (and its sites) where the rule was switched off."""
    # rules_run prefetches the states of a whole batch: one query for all its rules, not one per rule.
    paths = [state.province.path for state in rule.province_states.all() if not state.enabled]
    if not paths:
        return []
    under = Q()
    for path in paths:
        under |= Q(path__startswith=path)
    return sorted(Organisation.objects.filter(under).values_list("code", flat=True))


def _kind_span(rule: DetectionRule) -> timedelta:
    """How far before the checkpoint a window may begin and still end after it."""
    seconds = rule.params.get("window_seconds") or 0
    if rule.kind == RuleKind.CORRELATION:
        seconds = rule.compiled.get("correlation", {}).get("timespan_seconds", 0)
    return timedelta(seconds=int(seconds))


def rule_evaluate(*, rule: DetectionRule, window: Window, client: Elasticsearch | None = None,
                  consumed: Callable[[str], datetime | None] | None = None) -> Outcome:
    """Findings of ``rule`` over ``window``, without writing anything (test mode calls it too)."""
    client = client or es.client()
    index = es.events_pattern()
    if rule.kind in BATCHED_KINDS:
        return _msearch_outcomes([Plan(rule=rule, window=window)], client)[rule.pk]
    if rule.kind == RuleKind.THRESHOLD:
        findings = evaluate_threshold(client, index, rule.compiled or rule.params, window,
                                      consumed or (lambda key: None))
        return Outcome(findings, sum(f.details.get("hits", 0) for f in findings))
    evaluators = {RuleKind.SEQUENCE: evaluate_sequence, RuleKind.NEW_TERM: evaluate_new_term,
                  RuleKind.SILENCE: evaluate_silence, RuleKind.CORRELATION: _correlation}
    findings = evaluators[RuleKind(rule.kind)](client, index, rule.compiled or rule.params, window)
    return Outcome(findings, sum(f.count for f in findings))


def _correlation(client: Elasticsearch, index: str, compiled: dict[str, Any], window: Window) -> list[Finding]:
    spec = correlation_from_compiled(compiled)
    # Group by province too, so each match belongs to one province.
    rules = tuple(type(r)(r.name, r.lucene, ("organization.id", *r.group_fields), r.value_field) for r in spec.rules)
    spec = type(spec)(spec.type, rules, ("organization.id", *spec.group_by), spec.timespan_seconds, spec.op,
                      spec.count)
    must_not = [{"bool": {"must_not": list(window.exceptions)}}] if window.exceptions else []
    matches = evaluate_correlation(client, index, spec, window.start, window.end,
                                   scope=[*window.scope, *must_not], time_field=window.time_field)
    return [Finding(group={k: str(v) for k, v in m.group.items()}, first=m.window_start, last=m.window_end,
                    count=m.count, key=m.window_start.isoformat(), details={"rules": m.rule_counts})
            for m in matches]


def _evaluate_safely(plan: Plan) -> Outcome:
    rule = plan.rule
    try:
        return rule_evaluate(rule=rule, window=plan.window, consumed=lambda key: _consumed_until(rule, key))
    except Exception as exc:  # one broken rule is recorded on its run and never stops the others
        log.exception("rule %s failed", rule.pk)
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:2000])


def _consumed_until(rule: DetectionRule, key: str) -> datetime | None:
    return GroupState.objects.filter(rule=rule, group_key=key).values_list("consumed_until", flat=True).first()


# --- Sigma and indicator rules: one _msearch for many rules -----------------------------------------

def _msearch_outcomes(plans: list[Plan], client: Elasticsearch | None = None) -> dict[int, Outcome]:
    if not plans:
        return {}
    client = client or es.client()
    searches: list[tuple[int, matching.SearchPlan]] = []
    outcomes: dict[int, Outcome] = {}
    for plan in plans:
        try:
            searches += [(plan.rule.pk, s) for s in _search_plans(plan)]
        except Exception as exc:
            outcomes[plan.rule.pk] = Outcome(error=f"{type(exc).__name__}: {exc}"[:2000])
        outcomes.setdefault(plan.rule.pk, Outcome())
    if searches:
        _read_responses(client, searches, outcomes, {p.rule.pk: p.window.time_field for p in plans})
    return outcomes


def _search_plans(plan: Plan) -> list[matching.SearchPlan]:
    size = plan.rule.max_alerts_per_run + 1
    if plan.rule.kind == RuleKind.SIGMA:
        return matching.sigma_plans(plan.rule.compiled, plan.window, size)
    types = plan.rule.params.get("types") or list(matching.INDICATOR_FIELDS)
    return matching.indicator_plans(indicators_active(types=types), plan.window, size)


def _read_responses(client: Elasticsearch, searches: list[tuple[int, matching.SearchPlan]],
                    outcomes: dict[int, Outcome], time_fields: dict[int, str]) -> None:
    body: list[dict[str, Any]] = []
    for _, search in searches:
        body += [{"index": es.events_pattern(), "ignore_unavailable": True, "allow_no_indices": True},
                 search.body]
    responses = client.msearch(searches=body)["responses"]
    for (rule_id, search), response in zip(searches, responses, strict=True):
        outcome = outcomes[rule_id]
        if "error" in response:
            outcome.error = f"search failed: {str(response['error'].get('reason', response['error']))[:500]}"
        elif response.get("timed_out"):
            outcome.error = f"search timed out after {SEARCH_TIMEOUT}; the window will be read again"
        else:
            outcome.hits += matching.total_hits(response)
            outcome.findings += matching.findings_from_hits(search, response, time_fields[rule_id])


def indicators_active(*, types: list[str]) -> dict[str, list[str]]:
    now = dj_timezone.now()
    found: dict[str, list[str]] = {}
    for kind, value in Indicator.objects.active(now).filter(type__in=types).values_list("type", "value"):
        found.setdefault(kind, []).append(value)
    return {kind: sorted(set(values)) for kind, values in found.items()}


# --- recording a run ----------------------------------------------------------------------------------

def _finish(plan: Plan, outcome: Outcome, now: datetime, began: float) -> RuleRun:
    rule = plan.rule
    run = RuleRun(rule=rule, started_at=now, range_start=plan.window.start, range_end=plan.window.end,
                  hits=outcome.hits, gap_seconds=plan.gap_seconds, backfill_capped=plan.backfill_capped,
                  error=outcome.error)
    failed = bool(outcome.error)
    if not failed and outcome.findings:
        try:
            with transaction.atomic():  # a savepoint: a failed write leaves no half-made alert rows
                run.alerts, run.alert_cap_hit = _write_findings(rule, outcome.findings)
        except Exception as exc:
            log.exception("rule %s could not write its alerts", rule.pk)
            run.error, failed = f"{type(exc).__name__}: {exc}"[:2000], True
    if run.alert_cap_hit:
        found = outcome.hits if rule.kind in BATCHED_KINDS else len(outcome.findings)
        extra = found - rule.max_alerts_per_run
        run.error = f"alert cap of {rule.max_alerts_per_run} per run reached; {extra} more not alerted"
    run.duration_ms = int((time.monotonic() - began) * 1000)
    _advance(rule, run, plan, now, failed=failed)
    run.save()
    return run


def _write_findings(rule: DetectionRule, findings: list[Finding]) -> tuple[int, bool]:
    """Raise an alert per finding up to the rule's cap; threshold groups consume their events."""
    written = 0
    capped = len(findings) > rule.max_alerts_per_run
    for finding in sorted(findings, key=lambda f: f.first)[: rule.max_alerts_per_run]:
        if alert_raise(rule=rule, finding=finding):
            written += 1
        if rule.kind == RuleKind.THRESHOLD:
            GroupState.objects.update_or_create(rule=rule, group_key=group_key(finding.group),
                                                defaults={"consumed_until": finding.last})
    return written, capped


def _interval_slot(rule: DetectionRule) -> timedelta:
    """Until the next run: the interval, less the jitter between a beat tick and this run starting.

    Runs start a little after their tick; without the slack a rule on a 5 s interval would
    not yet be due at the next 5 s tick and would run only every other tick (every 10 s).
    """
    interval = timedelta(seconds=rule.interval_seconds)
    return interval - min(SCHEDULE_SLACK, interval / 2)


def _advance(rule: DetectionRule, run: RuleRun, plan: Plan, now: datetime, *, failed: bool) -> None:
    """Move the checkpoint only past a window read without error; back off a rule that keeps failing."""
    if failed:
        rule.consecutive_errors += 1
        rule.last_error = run.error
        backoff = min(rule.interval_seconds * 2 ** min(rule.consecutive_errors, 10), 3600)
        rule.next_run_at = now + timedelta(seconds=backoff)
    else:
        rule.checkpoint = plan.window.end
        rule.consecutive_errors, rule.last_error = 0, ""
        rule.next_run_at = now if plan.backfill_capped else now + _interval_slot(rule)
    rule.save(update_fields=["checkpoint", "next_run_at", "consecutive_errors", "last_error"])
