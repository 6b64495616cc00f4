"""Today's scorecard is a day in progress: its response measures stand as they are now, not at midnight."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident
from organisations.models import Organisation
from organisations.services import organisation_tree_ensure
from readiness.sql_measures import response_measures
from readiness.windows import window_for

pytestmark = pytest.mark.django_db


def _open_incident(province: Organisation, key: str, *, opened_ago: timedelta, ack_due_in: timedelta) -> None:
    now = timezone.now()
    made = Incident.objects.create(key=key, title=f"open {key}", province=province)
    Incident.objects.filter(pk=made.pk).update(created_at=now - opened_ago, ack_due_at=now + ack_due_in,
                                               resolve_due_at=now + timedelta(days=3))


@pytest.fixture
def province() -> Organisation:
    organisation_tree_ensure()
    return Organisation.objects.get(code="HNI")


def test_an_unacknowledged_incident_not_yet_due_has_not_missed_its_sla_today(province: Organisation) -> None:
    _open_incident(province, "HNI-2026-0001", opened_ago=timedelta(seconds=30), ack_due_in=timedelta(minutes=5))

    measures = response_measures(province=province, window=window_for(timezone.localdate()))

    assert (measures.incidents, measures.sla_compliance) == (1, 1.0)


def test_an_unacknowledged_incident_past_its_due_time_has_missed_it_today(province: Organisation) -> None:
    _open_incident(province, "HNI-2026-0001", opened_ago=timedelta(minutes=2), ack_due_in=-timedelta(minutes=1))

    measures = response_measures(province=province, window=window_for(timezone.localdate()))

    assert (measures.incidents, measures.sla_compliance) == (1, 0.0)
