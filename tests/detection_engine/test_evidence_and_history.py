"""Evidence outlives retention while its incident exists; run history is folded into daily summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from elasticsearch import Elasticsearch

from detection.evidence import evidence_index_name, evidence_indices_delete_unreferenced
from detection.models import Alert, RuleRun, RuleRunDay
from detection.services import rule_runs_fold, rules_run
from soc import es as soc_es
from tests.conftest import Cast
from tests.detection_engine.conftest import Index, make_rule
from tests.detection_engine.test_scheduling import WHOAMI, whoami

pytestmark = pytest.mark.django_db


def test_an_incidents_events_outlive_their_index_and_the_page_says_where_they_are(
        es: Elasticsearch, cast: Cast, index: Index) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    [ref] = index(whoami(30))
    rules_run(rule_ids=[rule.pk])
    alert = Alert.objects.get()
    assert alert.incident is not None
    es.indices.delete(index=ref.split("/")[0])  # what retention does to the day
    es.indices.refresh(index=soc_es.index_pattern("evidence"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cast.hni_responder)

    body = client.get(f"/api/v1/incidents/{alert.incident.key}/events/").json()
    page = client.get(f"/incidents/{alert.incident.key}/").content.decode()

    assert alert.evidence_index == evidence_index_name(datetime.now(UTC))
    assert [e["host"]["name"] for e in body["events"]] == ["ws1"]
    assert f"Events kept as evidence in <code>{alert.evidence_index}</code>" in page


def test_an_event_in_both_its_index_and_evidence_is_listed_once(es: Elasticsearch, cast: Cast, index: Index) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    index(whoami(30))
    rules_run(rule_ids=[rule.pk])
    es.indices.refresh(index=soc_es.index_pattern("evidence"))
    client = Client()
    client.force_login(cast.hni_responder)

    incident = Alert.objects.get().incident
    assert incident is not None
    body = client.get(f"/api/v1/incidents/{incident.key}/events/").json()

    assert len(body["events"]) == 1


def test_evidence_goes_only_when_no_incident_refers_to_it(es: Elasticsearch, cast: Cast, index: Index) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    index(whoami(30))
    rules_run(rule_ids=[rule.pk])
    alert = Alert.objects.get()
    old = f"{settings.ES_INDEX_PREFIX}evidence-2020.01"
    es.indices.create(index=old)
    Alert.objects.filter(pk=alert.pk).update(evidence_index=old)

    kept = evidence_indices_delete_unreferenced()
    assert alert.incident is not None
    alert.incident.delete()
    gone = evidence_indices_delete_unreferenced()

    assert kept == [] and gone == [old]
    assert es.indices.exists(index=evidence_index_name(datetime.now(UTC)))  # the current month stays


def test_runs_older_than_the_kept_days_become_one_summary_per_rule_and_day(orgs: None) -> None:
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    now = datetime(2026, 6, 20, 12, tzinfo=UTC)
    day = datetime(2026, 6, 1, tzinfo=UTC)
    for n, (hits, alerts, ms, error, slow) in enumerate([(3, 1, 40, "", False), (0, 0, 900, "search timed out", True),
                                                          (5, 2, 60, "", False)]):
        RuleRun.objects.create(rule=rule, started_at=day + timedelta(hours=n), range_start=day, range_end=day,
                               hits=hits, alerts=alerts, duration_ms=ms, error=error, timed_out=slow)
    recent = RuleRun.objects.create(rule=rule, started_at=now - timedelta(days=1), range_start=now, range_end=now)

    folded = rule_runs_fold(now=now)
    again = rule_runs_fold(now=now)

    summary = RuleRunDay.objects.get()
    assert (folded, again) == (3, 0)
    assert (summary.day, summary.runs, summary.errors, summary.timed_out) == (day.date(), 3, 1, 1)
    assert (summary.hits, summary.alerts, summary.duration_ms_total, summary.duration_ms_max) == (8, 3, 1000, 900)
    assert list(RuleRun.objects.all()) == [recent]


def test_alert_indices_come_from_a_template_with_the_configured_replicas(es: Elasticsearch, orgs: None,
                                                                          index: Index) -> None:
    soc_es.ensure_templates(es)
    rule = make_rule(name="whoami", kind="sigma", params={"yaml": WHOAMI})
    index(whoami(30))
    rules_run(rule_ids=[rule.pk])

    [(name, found)] = es.indices.get_settings(index=soc_es.index_pattern("alerts")).items()
    mapping = es.indices.get_mapping(index=name)[name]["mappings"]["properties"]

    assert found["settings"]["index"]["number_of_replicas"] == str(settings.ES_REPLICAS)
    assert mapping["alert"]["properties"]["first"]["type"] == "date"
    assert es.cluster.health(index=name)["status"] == "green"
