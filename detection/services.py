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

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Greatest
from django.utils import timezone as dj_timezone
from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch, TransportError

from detection import matching
from detection.alerts import alerts_raise, in_open_incidents
from detection.backfill import BackfillSpan, backfill_spans, backfill_window
from detection.engine import (
    ORG,
    Finding,
    Window,
    evaluate_sequence,
    evaluate_threshold,
    exception_clauses,
    group_key,
)
from detection.evidence import evidence_keep
from detection.kinds import correlation_from_compiled
from detection.models import DetectionRule, GroupState, Indicator, RuleKind, RuleRun, RuleRunDay
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
SCHEDULE_SLACK = timedelta(seconds=1)
# A rule searches at most 1/COST_SHARE of its time, its runs at most MAX_STRETCH intervals apart (``_run_slot``).
COST_SHARE = 10
MAX_STRETCH = 12
# The first key of the per-province advisory locks of rule batches (``_provinces_lock``): "soc1" in ASCII.
PROVINCE_LOCK_SPACE = 0x736F6331
# What a run changes on its rule, with its SQL type, written for a whole batch at once (``_rules_state_save``);
# rule edits never write these (``detection.authoring.ENGINE_STATE``).
RUN_STATE_FIELDS = {"checkpoint": "timestamptz", "backfill_checkpoint": "timestamptz", "next_run_at": "timestamptz",
                    "consecutive_errors": "integer", "last_error": "text", "last_run_at": "timestamptz",
                    "last_duration_ms": "integer", "last_cycle_ms": "integer"}


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    hits: int = 0
    error: str = ""
    timed_out: bool = False
    cost_ms: int = 0  # what finding cost: Elasticsearch's own time for a batched search, else the evaluation


@dataclass
class Plan:
    """One rule's run: its window, and what the previous checkpoint says about it.

    A back-fill plan (``backfill`` set) reads the events that arrived as history since the rule's back-fill
    checkpoint; ``indices`` then names where they are (otherwise they follow from the window).
    """

    rule: DetectionRule
    window: Window
    gap_seconds: int = 0
    backfill_capped: bool = False
    backfill: BackfillSpan | None = None
    indices: str = ""


def search_timeout() -> str:
    return f"{settings.DETECTION_SEARCH_TIMEOUT_SECONDS}s"


def detection_client() -> Elasticsearch:
    """Rule searches wait at most the request timeout and are never resent on a timeout: a slow batch is
    recorded on its rules' runs and read again next cycle, instead of being sent three times as slowly."""
    return es.client().options(request_timeout=settings.DETECTION_REQUEST_TIMEOUT_SECONDS, retry_on_timeout=False)


def due_rule_ids(*, now: datetime) -> list[int]:
    return list(
        DetectionRule.objects.filter(enabled=True)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .order_by("next_run_at", "pk")
        .values_list("id", flat=True)
    )


# Sigma and indicator rules per batch: one _msearch for many rules.
BATCH = 50


def due_batches(*, now: datetime) -> list[list[int]]:
    """The due rules as the workers take them: each aggregation rule alone, first, then Sigma and indicator
    rules 50 to a batch. An aggregation rule runs its own searches one after another; batched with others (the
    starter pack's are created together, so their ids are neighbours) they would make one worker's task the
    sum of the dearest rules while the other workers sit idle. Alone first, none waits on another, and a cycle's
    large batches never delay them."""
    ids = due_rule_ids(now=now)
    kinds = dict(DetectionRule.objects.filter(pk__in=ids).values_list("pk", "kind"))
    batched = [i for i in ids if kinds.get(i) in BATCHED_KINDS]
    singles = [[i] for i in ids if i in kinds and kinds[i] not in BATCHED_KINDS]
    return singles + [batched[start : start + BATCH] for start in range(0, len(batched), BATCH)]


def rule_run(*, rule_id: int, now: datetime | None = None) -> RuleRun | None:
    """Evaluate one rule from its checkpoint to now; None when another run holds it."""
    runs = rules_run(rule_ids=[rule_id], now=now)
    return runs[0] if runs else None


def rules_run(*, rule_ids: list[int], now: datetime | None = None, tick: datetime | None = None) -> list[RuleRun]:
    """Evaluate these rules; Sigma and indicator rules share one ``_msearch``. Locked rules are skipped.
    ``tick``: when the scheduler found them due (``due_batches``), if this run started later (``_next_run``).

    Each run is returned; a quiet one (``run_is_quiet``) is not saved (its pk is None) but counted in its rule's
    day (``RuleRunDay``). The batch's rules, kept runs and day counts are written once each (``_record_batch``).
    """
    now = now or dj_timezone.now()
    tick = tick or now
    with transaction.atomic():
        rules = list(DetectionRule.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(pk__in=rule_ids, enabled=True).order_by("pk")
                     .prefetch_related("province_states__province"))
        plans = [rule_plan(rule=rule, now=now) for rule in rules] + backfill_plans(rules=rules, now=now)
        searched = [n for n, plan in enumerate(plans) if plan.rule.kind in BATCHED_KINDS]
        answers = _msearch_outcomes([plans[n] for n in searched])
        batched = {n: answers[i] for i, n in enumerate(searched)}
        outcomes = [batched.get(n) or Outcome() if plan.rule.kind in BATCHED_KINDS else _evaluate_safely(plan)
                    for n, plan in enumerate(plans)]
        _provinces_lock(outcomes)
        runs = [_finish(plan, outcomes[n], now, tick) for n, plan in enumerate(plans)]
        _record_batch(rules, runs, now)
        return runs


def _provinces_lock(outcomes: list[Outcome]) -> None:
    """Take, in one order, a lock per province the batch may open or touch incidents in, held until it commits.

    Opening an incident locks its province's numbering and row until the batch commits; two batches finding
    alerts in two provinces in opposite orders would wait for each other (PostgreSQL aborts one: a deadlock).
    Taking the provinces' locks first, sorted, makes the second batch wait for the first instead.
    """
    codes = sorted({str(finding.group.get(ORG)) for outcome in outcomes if not outcome.error
                    for finding in outcome.findings if finding.group.get(ORG)})
    with connection.cursor() as cursor:
        for code in codes:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [PROVINCE_LOCK_SPACE, code])


def _record_batch(rules: list[DetectionRule], runs: list[RuleRun], now: datetime) -> None:
    """A batch's writes in three statements, whatever its size: the rules' state, the runs that matter, the
    quiet runs' day counts. The rows are locked by this transaction (``rules_run``): nobody else writes them."""
    _rules_state_save(rules)
    kept = [run for run in runs if not run_is_quiet(run)]
    RuleRun.objects.bulk_create(kept)
    quiet_runs_count(runs=[run for run in runs if run.pk is None], day=now.astimezone(UTC).date())


def backfill_plans(*, rules: list[DetectionRule], now: datetime) -> list[Plan]:
    """A back-fill pass for each rule with history that arrived since its back-fill checkpoint.

    One probe per distinct checkpoint (all rules usually share one), so a cycle without back-fill costs one
    search, not one per rule. Rules with nothing new just move their checkpoint (saved with the batch's other
    rule state), without a run row.
    """
    until = now - timedelta(seconds=settings.DETECTION_BACKFILL_SETTLE_SECONDS)
    # A new rule reads the last day's history too, as its live pass reads back from its first run.
    since = {rule.pk: max(rule.backfill_checkpoint or until - MAX_LOOKBACK, until - MAX_LOOKBACK) for rule in rules}
    spans = backfill_spans(since=set(since.values()), until=until, client=detection_client())
    plans = []
    for rule in rules:
        span = spans.get(since[rule.pk])
        if span is None or not span.events or rule.kind in (RuleKind.SILENCE, RuleKind.NEW_TERM):
            # Saved with the batch (``_record_batch``): every rule given here has a live run in it.
            rule.backfill_checkpoint = until
            continue
        live = rule_window(rule, span.first, span.last)
        window, indices = backfill_window(live, span, kind_span=_kind_span(rule),
                                          single_event=rule.kind in BATCHED_KINDS)
        plans.append(Plan(rule=rule, window=window, backfill=span, indices=indices))
    return plans


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
    window = rule_window(rule, start, end)
    if rule.kind == RuleKind.SIGMA and rule.checkpoint is not None and not rule.use_ingest_time:
        # The look-back exists for late arrivals; what arrived before the last run and was already dated inside
        # its window was read then. Arrival is stamped before the write: the slack covers the write and refresh.
        # (Indicator rules keep the whole look-back: an indicator added now still finds the last minutes' events.)
        # Read by arrival, the window can reach back over the live days at little cost: an agent back after hours
        # offline is detected as its events arrive, and a sender cannot hide an event by dating it a day back
        # (older events are back-fill, read by that pass; the minute keeps the back-fill indices out).
        slack = timedelta(seconds=settings.DETECTION_ARRIVAL_SLACK_SECONDS)
        live = timedelta(days=settings.INGEST_BACKFILL_AFTER_DAYS) - timedelta(minutes=1)
        window = dataclasses.replace(window, start=min(window.start, now - live),
                                     arrived_after=rule.checkpoint - slack, fresh_after=rule.checkpoint)
    elif rule.kind in (RuleKind.THRESHOLD, RuleKind.SEQUENCE) and rule.checkpoint is not None:
        # Groups with nothing new since the last run were evaluated then on the same events (``Window.recheck``).
        slack = timedelta(seconds=settings.DETECTION_ARRIVAL_SLACK_SECONDS)
        window = dataclasses.replace(window, recheck=(rule.checkpoint - slack, rule.checkpoint))
    return Plan(rule=rule, window=window, gap_seconds=gap, backfill_capped=capped)


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


def rule_indices(rule: DetectionRule, window: Window) -> str:
    """The event indices ``rule`` reads over ``window``, including what its kind reads before the window."""
    params, start = rule.compiled or rule.params, window.start
    if rule.kind == RuleKind.SEQUENCE:
        start -= timedelta(seconds=int(params.get("window_seconds") or 0))
    elif rule.kind == RuleKind.NEW_TERM:
        start = min(start, window.end - timedelta(days=int(params.get("history_days") or 0)))
    elif rule.kind == RuleKind.SILENCE:
        start = min(start, window.end - timedelta(seconds=int(params.get("history_seconds") or 86400)))
    return es.event_indices(start=start, end=window.end, time_field=window.time_field)


def rule_evaluate(*, rule: DetectionRule, window: Window, client: Elasticsearch | None = None,
                  consumed: Callable[[list[str]], dict[str, datetime]] | None = None, indices: str = "") -> Outcome:
    """Findings of ``rule`` over ``window``, without writing anything (test mode calls it too)."""
    client = client or detection_client()
    index = indices or rule_indices(rule, window)
    if rule.kind in BATCHED_KINDS:
        return _msearch_outcomes([Plan(rule=rule, window=window, indices=index)], client)[0]
    if rule.kind == RuleKind.THRESHOLD:
        findings = evaluate_threshold(client, index, rule.compiled or rule.params, window,
                                      consumed or (lambda keys: {}))
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
    # A back-fill pass re-reads whole spans of history: a burst is known by its first event (the alert id), not
    # by the live pass's consumed-until, which is about recent time.
    consumed = (lambda keys: {}) if plan.backfill else (lambda keys: _consumed_until(rule, keys))
    began = time.monotonic()
    try:
        outcome = rule_evaluate(rule=rule, window=plan.window, consumed=consumed, indices=plan.indices)
        outcome.cost_ms = int((time.monotonic() - began) * 1000)
        return outcome
    except ConnectionTimeout:
        return _timed_out(f"no answer within {settings.DETECTION_REQUEST_TIMEOUT_SECONDS} s")
    except Exception as exc:  # one broken rule is recorded on its run and never stops the others
        log.exception("rule %s failed", rule.pk)
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:2000])


def _timed_out(what: str) -> Outcome:
    return Outcome(error=f"search timed out ({what}); the window will be read again", timed_out=True)


def _consumed_until(rule: DetectionRule, keys: list[str]) -> dict[str, datetime]:
    return dict(GroupState.objects.filter(rule=rule, group_key__in=keys).values_list("group_key", "consumed_until"))


# --- Sigma and indicator rules: one _msearch for many rules -----------------------------------------

def _msearch_outcomes(plans: list[Plan], client: Elasticsearch | None = None) -> dict[int, Outcome]:
    """Outcome per position in ``plans``; a batch that fails as a whole is recorded on each of its rules."""
    if not plans:
        return {}
    client = client or detection_client()
    searches: list[tuple[int, str, matching.SearchPlan]] = []
    outcomes: dict[int, Outcome] = {}
    indices: dict[int, str] = {}
    for n, plan in enumerate(plans):
        outcomes[n] = Outcome()
        try:
            indices[n] = plan.indices or rule_indices(plan.rule, plan.window)
        except Exception as exc:
            outcomes[n] = Outcome(error=f"{type(exc).__name__}: {exc}"[:2000])
    silent = _sources_silent(client, plans, indices)
    for n, index in indices.items():
        if n in silent:
            continue
        try:
            searches += [(n, index, s) for s in _search_plans(plans[n])]
        except Exception as exc:
            outcomes[n] = Outcome(error=f"{type(exc).__name__}: {exc}"[:2000])
    if not searches:
        return outcomes
    try:
        _read_responses(client, searches, outcomes, {n: p.window.time_field for n, p in enumerate(plans)})
    except ConnectionTimeout:
        failed = _timed_out(f"no answer to the batch of {len(plans)} rules within "
                            f"{settings.DETECTION_REQUEST_TIMEOUT_SECONDS} s")
        outcomes = {n: Outcome(error=failed.error, timed_out=True) for n in outcomes}
    except (ApiError, TransportError) as exc:
        log.warning("rule batch search failed: %s", exc)
        outcomes = {n: Outcome(error=f"search failed: {type(exc).__name__}: {exc}"[:2000]) for n in outcomes}
    return outcomes


def _sources_silent(client: Elasticsearch, plans: list[Plan], indices: dict[int, str]) -> set[int]:
    """Positions of Sigma plans whose log source sent no event in their window: their search is not sent.

    A converted Sigma query requires its log source's terms (``compiled["source"]``, see
    ``detection.sigma.convert.source_filter``), so where none of the window's events carries them the rule
    has nothing to match, and its run is the same quiet run the search would have made. With thousands of
    Windows rules and a window of Linux and web events, most rules are answered by one cheap term probe per
    distinct source instead of a wildcard search each. A probe that fails skips nothing.
    """
    groups: dict[tuple[str, str, str], list[int]] = {}
    for n, index in indices.items():
        source = plans[n].rule.compiled.get("source") if plans[n].rule.kind == RuleKind.SIGMA else None
        if source:
            key = (index, plans[n].window.time_field, json.dumps(source, sort_keys=True))
            groups.setdefault(key, []).append(n)
    if not groups:
        return set()
    body: list[dict[str, Any]] = []
    for (index, _, source), members in groups.items():
        body += [{"index": index, "ignore_unavailable": True, "allow_no_indices": True},
                 matching.presence_body(json.loads(source), _windows_union([plans[n].window for n in members]),
                                        search_timeout())]
    try:
        responses = client.msearch(searches=body)["responses"]
    except (ApiError, TransportError) as exc:
        log.warning("log source probe failed, every rule is searched: %s", exc)
        return set()
    return {n for members, response in zip(groups.values(), responses, strict=True)
            if matching.nothing_found(response) for n in members}


def _windows_union(windows: list[Window]) -> Window:
    """A window holding every event of these (of one time field): their scopes and exceptions left out."""
    arrived = [w.arrived_after for w in windows]
    fresh = [w.fresh_after for w in windows]
    unread = None not in arrived and None not in fresh
    return Window(start=min(w.start for w in windows), end=max(w.end for w in windows),
                  time_field=windows[0].time_field,
                  arrived_after=min(a for a in arrived if a) if unread else None,
                  fresh_after=min(f for f in fresh if f) if unread else None)


def _search_plans(plan: Plan) -> list[matching.SearchPlan]:
    size = plan.rule.max_alerts_per_run + 1
    if plan.rule.kind == RuleKind.SIGMA:
        return matching.sigma_plans(plan.rule.compiled, plan.window, size, search_timeout())
    types = plan.rule.params.get("types") or list(matching.INDICATOR_FIELDS)
    return matching.indicator_plans(indicators_active(types=types), plan.window, size, search_timeout())


def _read_responses(client: Elasticsearch, searches: list[tuple[int, str, matching.SearchPlan]],
                    outcomes: dict[int, Outcome], time_fields: dict[int, str]) -> None:
    body: list[dict[str, Any]] = []
    for _, indices, search in searches:
        body += [{"index": indices, "ignore_unavailable": True, "allow_no_indices": True}, search.body]
    responses = client.msearch(searches=body)["responses"]
    for (n, _, search), response in zip(searches, responses, strict=True):
        outcome = outcomes[n]
        if "error" in response:
            outcome.error = f"search failed: {str(response['error'].get('reason', response['error']))[:500]}"
        elif response.get("timed_out"):
            failed = _timed_out(f"stopped after {search_timeout()}")
            outcome.error, outcome.timed_out = failed.error, True
        else:
            outcome.hits += matching.total_hits(response)
            outcome.cost_ms += int(response.get("took", 0))
            outcome.findings += matching.findings_from_hits(search, response, time_fields[n])


def indicators_active(*, types: list[str]) -> dict[str, list[str]]:
    now = dj_timezone.now()
    found: dict[str, list[str]] = {}
    for kind, value in Indicator.objects.active(now).filter(type__in=types).values_list("type", "value"):
        found.setdefault(kind, []).append(value)
    return {kind: sorted(set(values)) for kind, values in found.items()}


# --- recording a run ----------------------------------------------------------------------------------

def _finish(plan: Plan, outcome: Outcome, now: datetime, tick: datetime) -> RuleRun:
    """The run's row (not yet saved), its alerts written; its duration is what finding cost plus the writing."""
    began, rule = time.monotonic(), plan.rule
    run = RuleRun(rule=rule, started_at=now, range_start=plan.window.start, range_end=plan.window.end,
                  hits=outcome.hits, gap_seconds=plan.gap_seconds, backfill_capped=plan.backfill_capped,
                  error=outcome.error, timed_out=outcome.timed_out, backfill_pass=plan.backfill is not None)
    failed = bool(outcome.error)
    if not failed and outcome.findings:
        try:
            with transaction.atomic():  # a savepoint: a failed write leaves no half-made alert rows
                run.alerts, run.alert_cap_hit = _write_findings(rule, outcome.findings,
                                                                consume=plan.backfill is None)
        except Exception as exc:
            log.exception("rule %s could not write its alerts", rule.pk)
            run.error, failed = f"{type(exc).__name__}: {exc}"[:2000], True
    if run.alert_cap_hit:
        found = outcome.hits if rule.kind in BATCHED_KINDS else len(outcome.findings)
        extra = found - rule.max_alerts_per_run
        run.error = f"alert cap of {rule.max_alerts_per_run} per run reached; {extra} more not alerted"
    run.duration_ms = outcome.cost_ms + int((time.monotonic() - began) * 1000)
    if plan.backfill is None:
        _advance(rule, run, plan, now, tick, failed=failed, cost_ms=outcome.cost_ms)
    else:
        _advance_backfill(rule, run, plan.backfill, now, failed=failed)
    return run


def run_is_quiet(run: RuleRun) -> bool:
    """Nothing found and nothing to look into: such runs are only counted (``quiet_runs_count``), not kept."""
    return not (run.hits or run.alerts or run.error or run.timed_out or run.gap_seconds or run.backfill_capped
                or run.alert_cap_hit or run.backfill_pass)


_STATE_UPDATE = "UPDATE {table} AS r SET {sets} FROM (VALUES {values}) AS v(id, {columns}) WHERE r.id = v.id"


def _rules_state_save(rules: list[DetectionRule]) -> None:
    """``UPDATE ... FROM (VALUES ...)``: one statement for the batch (Django's bulk_update builds a CASE per field
    and row, slower than the one UPDATE per rule it replaces). Names are the model's own, values parameters."""
    if not rules:
        return
    quote = connection.ops.quote_name
    row = "(%s::bigint, " + ", ".join(f"%s::{sql_type}" for sql_type in RUN_STATE_FIELDS.values()) + ")"
    sql = _STATE_UPDATE.format(
        table=quote(DetectionRule._meta.db_table), values=", ".join([row] * len(rules)),
        sets=", ".join(f"{quote(name)} = v.{quote(name)}" for name in RUN_STATE_FIELDS),
        columns=", ".join(quote(name) for name in RUN_STATE_FIELDS))
    params = [value for rule in rules for value in (rule.pk, *(getattr(rule, name) for name in RUN_STATE_FIELDS))]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_QUIET_UPSERT = """
INSERT INTO {table} AS d (rule_id, day, runs, quiet_runs, errors, timed_out, backfill_runs, hits, alerts,
                          duration_ms_total, duration_ms_max)
VALUES {values}
ON CONFLICT (rule_id, day) DO UPDATE SET
    runs = d.runs + EXCLUDED.runs, quiet_runs = d.quiet_runs + EXCLUDED.quiet_runs,
    duration_ms_total = d.duration_ms_total + EXCLUDED.duration_ms_total,
    duration_ms_max = GREATEST(d.duration_ms_max, EXCLUDED.duration_ms_max)
"""


def quiet_runs_count(*, runs: list[RuleRun], day: date) -> None:
    """Add quiet runs to their rules' ``RuleRunDay`` of ``day``: one INSERT ... ON CONFLICT DO UPDATE for all."""
    per_rule: dict[int, list[int]] = {}
    for run in runs:
        per_rule.setdefault(run.rule_id, []).append(run.duration_ms)
    if not per_rule:
        return
    # One row per rule in the statement: ON CONFLICT may not touch a row twice. Sorted: a fixed lock order.
    rows = [(rule_id, day, len(ms), len(ms), 0, 0, 0, 0, 0, sum(ms), max(ms))
            for rule_id, ms in sorted(per_rule.items())]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    sql = _QUIET_UPSERT.format(table=connection.ops.quote_name(RuleRunDay._meta.db_table), values=values)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def _write_findings(rule: DetectionRule, findings: list[Finding], *, consume: bool = True) -> tuple[int, bool]:
    """Raise an alert per finding up to the rule's cap; threshold groups consume their events (live passes:
    a back-fill pass must not move a group's consumed-until back into history)."""
    capped = len(findings) > rule.max_alerts_per_run
    chosen = _first_served(rule, findings)[: rule.max_alerts_per_run]
    raised = alerts_raise(rule=rule, findings=chosen)
    if consume and rule.kind == RuleKind.THRESHOLD:
        _groups_consume(rule, chosen)
    if raised:
        evidence_keep(rule=rule, findings=raised)
    return len(raised), capped


def _first_served(rule: DetectionRule, findings: list[Finding]) -> list[Finding]:
    """The findings in time order; over the rule's cap, those on an entity without an open incident in its
    province first. In a storm, a new attacking address is news; the next burst of one already in an incident
    can wait a run (a threshold or sequence group not alerted is not consumed: the next run finds it again)."""
    ordered = sorted(findings, key=lambda f: f.first)
    if len(ordered) <= rule.max_alerts_per_run:
        return ordered
    handled = in_open_incidents(rule, ordered)
    # A stable sort: each entity's findings keep their time order.
    return [f for _, f in sorted(zip(handled, ordered, strict=True), key=lambda pair: pair[0])]


def _groups_consume(rule: DetectionRule, findings: list[Finding]) -> None:
    """Each group's events up to its latest finding made an alert: one upsert for the run's groups."""
    until: dict[str, datetime] = {}
    for finding in findings:
        key = group_key(finding.group)
        until[key] = max(until.get(key, finding.last), finding.last)
    GroupState.objects.bulk_create(
        [GroupState(rule=rule, group_key=key, consumed_until=moment) for key, moment in sorted(until.items())],
        update_conflicts=True, unique_fields=["rule", "group_key"], update_fields=["consumed_until"])


def _interval_slot(rule: DetectionRule) -> timedelta:
    """Until the next run: the interval, less the jitter between a beat tick and this run starting.

    Runs start a little after their tick; without the slack a rule on a 5 s interval would
    not yet be due at the next 5 s tick and would run only every other tick (every 10 s).
    """
    interval = timedelta(seconds=rule.interval_seconds)
    return interval - min(SCHEDULE_SLACK, interval / 2)


def _run_slot(rule: DetectionRule, cost_ms: int) -> timedelta:
    """Until the next run: the interval, or longer for a rule whose search costs more than its share of it.

    One pathological rule (SigmaHQ's emoji rules search ~1,000 ``*x*`` wildcards, 0.5-8 s a run) must not
    hold 3,000 others' cycle: a rule may spend at most 1/COST_SHARE of its time searching, up to MAX_STRETCH
    intervals apart. Its window starts at its checkpoint, so it reads everything, later; the rules page shows
    its run time and cycle. Writing alerts is not counted: a rule that fires in an attack keeps its pace. Only
    Sigma rules: the cost of an aggregation rule (a threshold over every source address) grows with an attack,
    when it must keep its pace most; a Sigma search's cost is its query's, whatever the events.
    """
    slot = _interval_slot(rule)
    if rule.kind != RuleKind.SIGMA:
        return slot
    return min(max(slot, timedelta(milliseconds=cost_ms * COST_SHARE)), slot * MAX_STRETCH)


def _next_run(rule: DetectionRule, now: datetime, tick: datetime, cost_ms: int) -> datetime:
    """When the rule is due again: a slot after the tick that found it due, or after it started if later.

    A cycle's batches start one after another on a few workers, so the last ones start seconds after their
    tick; due again a slot after they *started*, they would miss the next tick and run every other one (their
    events waiting 10 s, not 5). A slot after their tick, they are due at the next one. A run that started more
    than an interval after its tick (a cycle that overran) counts from its start.
    """
    slot = _run_slot(rule, cost_ms)
    if tick <= now < tick + timedelta(seconds=rule.interval_seconds):
        return tick + slot
    return now + slot


def _advance(rule: DetectionRule, run: RuleRun, plan: Plan, now: datetime, tick: datetime, *, failed: bool,
             cost_ms: int = 0) -> None:
    """Move the checkpoint only past a window read without error; back off a rule that keeps failing.
    The rule keeps its latest live run's time, duration and cycle (quiet runs have no row to read them from).
    Saved with the batch (``_record_batch``)."""
    if rule.last_run_at is not None:
        # Never negative: the last run may have been on a worker whose clock runs ahead of this one's.
        rule.last_cycle_ms = max(0, min(int((now - rule.last_run_at).total_seconds() * 1000), 2**31 - 1))
    rule.last_run_at, rule.last_duration_ms = now, run.duration_ms
    if failed:
        rule.consecutive_errors += 1
        rule.last_error = run.error
        backoff = min(rule.interval_seconds * 2 ** min(rule.consecutive_errors, 10), 3600)
        rule.next_run_at = now + timedelta(seconds=backoff)
    else:
        rule.checkpoint = plan.window.end
        rule.consecutive_errors, rule.last_error = 0, ""
        rule.next_run_at = now if plan.backfill_capped else _next_run(rule, now, tick, cost_ms)


def _advance_backfill(rule: DetectionRule, run: RuleRun, span: BackfillSpan, now: datetime, *,
                      failed: bool) -> None:
    """After the live pass (``_advance``): the back-fill checkpoint moves only past history read without error."""
    if failed:
        rule.consecutive_errors += 1
        rule.last_error = f"back-fill: {run.error}"[:2000]
        rule.next_run_at = now + timedelta(seconds=min(rule.interval_seconds * 2 ** min(rule.consecutive_errors, 10),
                                                       3600))
        return
    rule.backfill_checkpoint = span.until


# --- run history ----------------------------------------------------------------------------------------

def rule_runs_fold(*, now: datetime) -> int:
    """Fold the runs of whole UTC days older than DETECTION_RUN_KEEP_DAYS into one ``RuleRunDay`` per rule
    and day, and delete them; returns how many runs were folded. One day per transaction, oldest first, so an
    interrupted fold resumes where it stopped and never counts a run twice."""
    cutoff = datetime.combine((now - timedelta(days=settings.DETECTION_RUN_KEEP_DAYS)).date(), datetime.min.time(),
                              tzinfo=UTC)
    folded = 0
    while True:
        oldest = RuleRun.objects.filter(started_at__lt=cutoff).order_by("started_at").values_list(
            "started_at", flat=True).first()
        if oldest is None:
            return folded
        day_start = datetime.combine(oldest.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
        folded += _fold_day(day_start, min(day_start + timedelta(days=1), cutoff))


def _fold_day(start: datetime, end: datetime) -> int:
    with transaction.atomic():
        runs = RuleRun.objects.filter(started_at__gte=start, started_at__lt=end)
        totals = runs.values("rule_id").annotate(
            n=Count("id"), errors=Count("id", filter=~Q(error="")), slow=Count("id", filter=Q(timed_out=True)),
            backfill=Count("id", filter=Q(backfill_pass=True)), hit_sum=Sum("hits"), alert_sum=Sum("alerts"),
            ms=Sum("duration_ms"), ms_max=Max("duration_ms"))
        for row in totals:
            day, _ = RuleRunDay.objects.select_for_update().get_or_create(rule_id=row["rule_id"], day=start.date())
            RuleRunDay.objects.filter(pk=day.pk).update(
                runs=F("runs") + row["n"], errors=F("errors") + row["errors"], timed_out=F("timed_out") + row["slow"],
                backfill_runs=F("backfill_runs") + row["backfill"], hits=F("hits") + (row["hit_sum"] or 0),
                alerts=F("alerts") + (row["alert_sum"] or 0),
                duration_ms_total=F("duration_ms_total") + (row["ms"] or 0),
                duration_ms_max=Greatest(F("duration_ms_max"), row["ms_max"] or 0))
        deleted, _ = runs.delete()
        return deleted
