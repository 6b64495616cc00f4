"""Quiet runs (nothing found, nothing wrong) are counted per rule and day, not kept one row each; runs that
matter keep their row, and the rules pages still say when each rule last ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from elasticsearch import Elasticsearch

from detection.models import DetectionRule, RuleRun, RuleRunDay
from detection.services import rule_runs_fold, rules_run
from tests.conftest import Cast
from tests.detection_engine.conftest import Index
from tests.detection_engine.test_scheduling import sigma_rule, whoami

pytestmark = pytest.mark.django_db


def statements(queries: CaptureQueriesContext, verb: str, model: type[Model]) -> int:
    table = f'{verb} "{model._meta.db_table}"'
    return sum(1 for query in queries.captured_queries if query["sql"].lstrip().startswith(table))


def test_quiet_runs_write_no_row_and_are_counted_in_their_day(es: Elasticsearch, orgs: None) -> None:
    rule = sigma_rule()
    first = datetime.now(UTC).replace(microsecond=0)

    rules_run(rule_ids=[rule.pk], now=first)
    rules_run(rule_ids=[rule.pk], now=first + timedelta(seconds=5))

    day = RuleRunDay.objects.get()
    rule.refresh_from_db()
    assert not RuleRun.objects.exists()
    assert (day.rule_id, day.day, day.runs, day.quiet_runs, day.errors, day.hits) == (rule.pk, first.date(), 2, 2, 0, 0)
    assert rule.last_run_at == first + timedelta(seconds=5) and rule.last_cycle_ms == 5000


def test_a_batch_of_quiet_rules_costs_one_summary_statement_and_one_rule_update(es: Elasticsearch, orgs: None) -> None:
    ids = [sigma_rule(name=f"whoami {n}").pk for n in range(12)]

    with CaptureQueriesContext(connection) as queries:
        runs = rules_run(rule_ids=ids)

    assert len(runs) == 12 and all(run.pk is None for run in runs)
    assert statements(queries, "INSERT INTO", RuleRunDay) == 1 and statements(queries, "INSERT INTO", RuleRun) == 0
    assert statements(queries, "UPDATE", DetectionRule) == 1  # the 12 rules' checkpoints and last runs at once
    assert sorted(RuleRunDay.objects.values_list("rule_id", "quiet_runs")) == [(pk, 1) for pk in sorted(ids)]


def test_a_run_that_finds_something_keeps_its_row_beside_the_quiet_ones(es: Elasticsearch, orgs: None,
                                                                          index: Index) -> None:
    finds, quiet = sigma_rule(name="finds"), sigma_rule(name="quiet", exceptions=[
        {"field": "host.name", "values": ["ws1"]}])
    index(whoami(30))

    rules_run(rule_ids=[finds.pk, quiet.pk])

    [run] = RuleRun.objects.all()
    assert (run.rule_id, run.hits, run.alerts) == (finds.pk, 1, 1)
    assert list(RuleRunDay.objects.values_list("rule_id", "quiet_runs")) == [(quiet.pk, 1)]


def test_a_run_after_a_gap_keeps_its_row(es: Elasticsearch, orgs: None) -> None:
    rule = sigma_rule()
    DetectionRule.objects.filter(pk=rule.pk).update(checkpoint=datetime.now(UTC) - timedelta(minutes=10))

    [run] = rules_run(rule_ids=[rule.pk])

    assert run.pk is not None and run.gap_seconds > 0 and not RuleRunDay.objects.exists()


def test_a_failing_run_keeps_its_row_and_counts_on_the_rule(es: Elasticsearch, orgs: None) -> None:
    rule = sigma_rule()
    # A compiled query Elasticsearch refuses: the batch answers with an error for this rule. Without a log-source
    # filter (as rules compiled before it), so it is searched even though its source sent nothing.
    DetectionRule.objects.filter(pk=rule.pk).update(compiled={"query": "event.code:((", "lucene": ""})
    rule.refresh_from_db()

    [run] = rules_run(rule_ids=[rule.pk])

    rule.refresh_from_db()
    assert run.pk is not None and run.error
    assert rule.consecutive_errors == 1 and rule.last_run_at == run.started_at


def test_folding_old_rows_adds_to_the_day_the_quiet_runs_were_counted_in(es: Elasticsearch, orgs: None) -> None:
    rule = sigma_rule()
    day = datetime(2026, 6, 1, 12, tzinfo=UTC)
    rules_run(rule_ids=[rule.pk], now=day)
    RuleRun.objects.create(rule=rule, started_at=day + timedelta(hours=1), range_start=day, range_end=day, hits=4,
                           duration_ms=30)

    rule_runs_fold(now=day + timedelta(days=30))

    summary = RuleRunDay.objects.get()
    assert (summary.runs, summary.quiet_runs, summary.hits) == (2, 1, 4) and not RuleRun.objects.exists()


def test_the_rules_pages_show_the_last_quiet_run(es: Elasticsearch, cast: Cast) -> None:
    rule = sigma_rule()
    rules_run(rule_ids=[rule.pk])
    rule.refresh_from_db()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cast.analyst)

    listing = client.get(reverse("detection:rules"))
    detail = client.get(reverse("detection:rule", args=[rule.pk])).content.decode()

    assert [row.last_run_at for row in listing.context["rows"]] == [rule.last_run_at]
    assert 'id="rule-last-run"' in detail and f"{rule.last_duration_ms} ms" in detail
    assert "1 quiet runs (nothing found, nothing wrong)" in detail
