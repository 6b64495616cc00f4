"""Collector tasks: silent collectors raise one incident for their province; retention drops old days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from elasticsearch import Elasticsearch

from collectors.models import Collector
from collectors.selectors import Health, collector_health
from collectors.services import collector_record_heartbeat, event_indices_delete_expired
from collectors.tasks import check_collector_health
from incidents.models import Incident
from tests.conftest import EnrolledCollector

pytestmark = pytest.mark.django_db


def set_times(collector: EnrolledCollector, *, beat_ago: float | None, events_ago: float | None) -> None:
    now = timezone.now()
    Collector.objects.filter(pk=collector.collector.pk).update(
        last_heartbeat_at=None if beat_ago is None else now - timedelta(seconds=beat_ago),
        last_seen_at=None if events_ago is None else now - timedelta(seconds=events_ago))


def test_a_collector_gone_offline_opens_one_incident_for_its_province(
        hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector) -> None:
    set_times(hni_collector, beat_ago=3600, events_ago=3600)
    set_times(hcm_collector, beat_ago=1, events_ago=1)

    assert check_collector_health() == 1
    assert check_collector_health() == 0, "flagged once, not on every run"

    [incident] = Incident.objects.all()
    assert incident.province.code == "HNI"
    assert "HNI-WEB-01" in incident.title
    assert incident.dedup_key == f"collector-silent:{hni_collector.collector.uid}"
    assert Collector.objects.get(pk=hni_collector.collector.pk).silent_since is not None


def test_a_collector_that_reports_but_sends_no_events_is_a_silent_source(
        hni_collector: EnrolledCollector) -> None:
    set_times(hni_collector, beat_ago=1, events_ago=settings.COLLECTOR_SILENT_SECONDS + 60)

    assert check_collector_health() == 1
    assert "sends no events" in Incident.objects.get().title


def test_a_recovered_collector_is_cleared_and_can_be_flagged_again(hni_collector: EnrolledCollector) -> None:
    set_times(hni_collector, beat_ago=3600, events_ago=3600)
    check_collector_health()
    set_times(hni_collector, beat_ago=1, events_ago=1)

    check_collector_health()

    assert Collector.objects.get(pk=hni_collector.collector.pk).silent_since is None


def test_a_collector_never_started_is_not_flagged(hni_collector: EnrolledCollector) -> None:
    set_times(hni_collector, beat_ago=None, events_ago=None)

    assert check_collector_health() == 0
    assert not Incident.objects.exists()


def test_a_collector_whose_one_off_replay_finished_is_not_flagged(hni_collector: EnrolledCollector) -> None:
    collector_record_heartbeat(collector=hni_collector.collector, report={"state": "finished"})
    set_times(hni_collector, beat_ago=3600, events_ago=3600)
    collector = Collector.objects.get(pk=hni_collector.collector.pk)

    assert check_collector_health() == 0
    assert not Incident.objects.exists()
    assert collector_health(collector, now=timezone.now()) == Health.FINISHED


def test_a_collector_that_runs_again_after_a_replay_is_watched_again(hni_collector: EnrolledCollector) -> None:
    collector_record_heartbeat(collector=hni_collector.collector, report={"state": "finished"})
    collector_record_heartbeat(collector=hni_collector.collector, report={"state": "stopped"})
    set_times(hni_collector, beat_ago=3600, events_ago=3600)

    assert check_collector_health() == 1
    assert "stopped reporting" in Incident.objects.get().title


def test_a_state_the_agent_does_not_send_is_kept_as_running(hni_collector: EnrolledCollector) -> None:
    collector_record_heartbeat(collector=hni_collector.collector, report={"state": {"finished": True}})

    assert Collector.objects.get(pk=hni_collector.collector.pk).health["state"] == "running"


def test_retention_deletes_whole_days_older_than_the_limit_and_keeps_the_rest(es: Elasticsearch) -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    day = {n: f"{now - timedelta(days=n):%Y.%m.%d}" for n in (0, 30, 31, 45)}
    names = [f"{settings.ES_INDEX_PREFIX}events-{day[n]}" for n in (0, 30, 31)] + [
        f"{settings.ES_INDEX_PREFIX}deadletter-{day[45]}", f"{settings.ES_INDEX_PREFIX}events-not-a-date"]
    for name in names:
        es.indices.create(index=name)

    deleted = event_indices_delete_expired(now=now, days=30)

    assert deleted == sorted([names[2], names[3]])
    assert set(es.indices.get(index=f"{settings.ES_INDEX_PREFIX}*")) == {names[0], names[1], names[4]}
