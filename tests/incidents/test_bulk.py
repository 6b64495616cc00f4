"""Bulk status change, assign and close: hundreds of incidents, one request, a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Incident, Status, TimelineEntry
from organisations.models import AuditLog
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db


def test_bulk_close_of_three_hundred_incidents_shares_one_summary(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    keys = [incident.key for incident in make_incidents(300)]

    response = api(cast.lead).post("/api/v1/incidents/bulk/", {
        "keys": keys, "action": "close", "resolution_summary": "Scanner noise from the pentest window."})

    assert response.status_code == 200 and len(response.json()["changed"]) == 300
    closed = Incident.objects.filter(key__in=keys)
    assert set(closed.values_list("status", flat=True)) == {Status.CLOSED}
    assert set(closed.values_list("resolution_summary", flat=True)) == {"Scanner noise from the pentest window."}
    assert TimelineEntry.objects.filter(incident__in=closed, kind="incident.status_changed").count() == 300
    assert AuditLog.objects.filter(object_ref__in=keys, action="incident.status_changed").count() == 300


def _bulk_queries(lead: Api, keys: list[str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = lead.post("/api/v1/incidents/bulk/", {"keys": keys, "action": "status", "status": "triaged"})
    assert response.status_code == 200 and len(response.json()["changed"]) == len(keys)
    return len(queries)


def test_bulk_changes_use_the_same_number_of_queries_for_ten_or_two_hundred(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    lead = api(cast.lead)
    few = _bulk_queries(lead, [i.key for i in make_incidents(10)])
    many = _bulk_queries(lead, [i.key for i in make_incidents(200)])

    assert few == many


def test_incidents_that_cannot_make_the_move_are_skipped_with_a_reason(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    fresh, done = make_incidents(2)
    Incident.objects.filter(pk=done.pk).update(status=Status.RESOLVED)

    result = api(cast.lead).post("/api/v1/incidents/bulk/", {
        "keys": [fresh.key, done.key], "action": "status", "status": "triaged"}).json()

    assert result["changed"] == [fresh.key]
    assert result["skipped"] == {done.key: "cannot go from 'resolved' to 'triaged'"}


def test_bulk_close_without_a_summary_changes_nothing(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    keys = [i.key for i in make_incidents(3)]

    response = api(cast.lead).post("/api/v1/incidents/bulk/", {"keys": keys, "action": "close"})

    assert response.status_code == 400
    assert set(Incident.objects.filter(key__in=keys).values_list("status", flat=True)) == {Status.NEW}


def test_bulk_assign_sets_one_central_assignee(cast: Cast, api: Callable[..., Api],
                                               make_incidents: Callable[..., list[Incident]]) -> None:
    keys = [i.key for i in make_incidents(50)]

    result = api(cast.lead).post("/api/v1/incidents/bulk/", {"keys": keys, "action": "assign",
                                                              "assignee": cast.analyst.pk}).json()

    assert len(result["changed"]) == 50
    assert set(Incident.objects.filter(key__in=keys).values_list("assignee", flat=True)) == {cast.analyst.pk}


def test_a_responder_bulk_moves_only_their_own_province_and_never_closes(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    own = make_incidents(2)
    theirs = make_incidents(2, province=cast.hcm)
    Incident.objects.filter(pk__in=[i.pk for i in own + theirs]).update(status=Status.TRIAGED)
    responder = api(cast.hni_responder)

    moved = responder.post("/api/v1/incidents/bulk/", {"keys": [i.key for i in own + theirs], "action": "status",
                                                       "status": "in_progress"}).json()
    refused = responder.post("/api/v1/incidents/bulk/", {"keys": [own[0].key], "action": "close",
                                                         "resolution_summary": "x"})

    assert sorted(moved["changed"]) == sorted(i.key for i in own)
    assert set(Incident.objects.filter(province=cast.hcm).values_list("status", flat=True)) == {Status.TRIAGED}
    assert refused.status_code == 403


def test_the_console_bulk_form_closes_the_checked_incidents(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    keys = [i.key for i in make_incidents(3)]
    lead = api(cast.lead)

    response = lead.client.post("/incidents/bulk/", {"keys": keys, "action": "close",
                                                     "resolution_summary": "duplicates of HNI-2026-0001"})

    assert response.status_code == 302
    assert set(Incident.objects.filter(key__in=keys).values_list("status", flat=True)) == {Status.CLOSED}


def test_the_console_bulk_form_takes_more_than_a_thousand_incidents_and_refuses_too_many(
        cast: Cast, api: Callable[..., Api]) -> None:
    now = timezone.now()
    Incident.objects.bulk_create(Incident(key=f"HNI-2026-B{n:04d}", title=f"bulk {n}", province=cast.hni,
                                          last_seen_at=now) for n in range(1200))
    keys = [f"HNI-2026-B{n:04d}" for n in range(1200)]
    lead = api(cast.lead).client

    closed = lead.post("/incidents/bulk/", {"keys": keys, "action": "close", "resolution_summary": "cleanup"},
                       follow=True, HTTP_ACCEPT_LANGUAGE="en")
    too_many = lead.post("/incidents/bulk/", {"keys": (keys * 5)[:5001], "action": "close", "resolution_summary": "x"},
                         follow=True)

    assert "1200 changed" in closed.content.decode()
    assert Incident.objects.filter(key__in=keys, status=Status.CLOSED).count() == 1200
    assert "Hãy chọn từ 1 đến 5000 sự cố." in too_many.content.decode()  # Vietnamese unless asked otherwise
