"""The API contract: a valid OpenAPI schema, nothing AllowAny, and list queries that do not grow with the page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from incidents.models import Incident
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db
OURS = ("incidents", "organisations")


def _views(patterns: list[URLPattern | URLResolver]) -> Iterator[Any]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        else:
            yield getattr(pattern.callback, "cls", None)


def test_no_api_view_allows_anyone() -> None:
    views = {view for view in _views(get_resolver().url_patterns) if view and issubclass(view, APIView)}

    open_views = [view for view in views if any(p is AllowAny for p in view().get_permissions().__class__.__mro__)
                  or any(isinstance(p, AllowAny) for p in view().get_permissions())]

    assert views and not open_views


def test_the_schema_generates_without_warnings_for_our_endpoints_and_validates(
        capsys: pytest.CaptureFixture[str]) -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    output = capsys.readouterr().err

    ours = [line for line in output.splitlines() if any(f"/{app}/" in line for app in OURS)]
    assert not ours, "\n".join(ours)
    assert {"/api/v1/incidents/", "/api/v1/incidents/bulk/", "/api/v1/audit/export/"} <= set(schema["paths"])
    assert "apiToken" in schema["components"]["securitySchemes"]


def test_the_schema_is_served_to_logged_in_users(cast: Cast, api: Callable[..., Api]) -> None:
    response = api(cast.analyst).get("/api/v1/schema/", format="json")

    assert response.status_code == 200 and "/api/v1/incidents/{key}/status/" in response.json()["paths"]


def _queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/incidents/", "/api/v1/incidents/"])
def test_lists_use_the_same_number_of_queries_for_five_or_fifty_rows(
        path: str, cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    analyst = api(cast.analyst)
    make_incidents(5)
    Incident.objects.update(assignee=cast.lead)
    five = _queries(lambda: analyst.client.get(path))
    make_incidents(45, province=cast.hcm)
    Incident.objects.update(assignee=cast.analyst)
    fifty = _queries(lambda: analyst.client.get(path))

    assert five == fifty


def test_lists_filter_order_and_paginate(cast: Cast, api: Callable[..., Api],
                                         make_incidents: Callable[..., list[Incident]]) -> None:
    make_incidents(3, severity="low")
    make_incidents(2, province=cast.hcm, severity="critical")
    analyst = api(cast.analyst)

    critical = analyst.get("/api/v1/incidents/", severity="critical").json()
    by_key = analyst.get("/api/v1/incidents/", ordering="key").json()["results"]
    hcm = analyst.get("/api/v1/incidents/", province="HCM").json()

    assert critical["count"] == 2 and hcm["count"] == 2
    assert [row["key"] for row in by_key] == sorted(row["key"] for row in by_key)
    assert set(analyst.get("/api/v1/incidents/", page=1).json()) >= {"count", "next", "previous", "results"}


def test_errors_share_one_body_shape(cast: Cast, api: Callable[..., Api]) -> None:
    analyst = api(cast.analyst)

    missing = analyst.get("/api/v1/incidents/HNI-2099-0001/").json()
    invalid = analyst.post("/api/v1/incidents/bulk/", {"keys": [], "action": "explode"}).json()
    forbidden = api(cast.auditor).post("/api/v1/incidents/bulk/", {"keys": ["x"], "action": "close",
                                                                  "resolution_summary": "x"}).json()

    for body in (missing, invalid, forbidden):
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])


def test_ordering_by_severity_follows_rank_not_spelling(cast: Cast, api: Callable[..., Api],
                                                        make_incidents: Callable[..., list[Incident]]) -> None:
    for severity in ("medium", "critical", "low", "high"):
        make_incidents(1, severity=severity)
    analyst = api(cast.analyst)

    worst_first = [r["severity"] for r in analyst.get("/api/v1/incidents/", ordering="-severity").json()["results"]]

    assert worst_first == ["critical", "high", "medium", "low"]


def test_a_nul_character_in_a_filter_or_key_matches_nothing_instead_of_failing(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    make_incidents(1)
    analyst = api(cast.analyst)

    assert analyst.get("/api/v1/incidents/", status="new\x00").json()["count"] == 0
    assert analyst.get("/api/v1/requests/", incident="x\x00").json()["count"] == 0
    assert analyst.get("/api/v1/incidents/HNI-2026-0001%00/").status_code == 404


def test_the_list_writes_each_incident_exactly_as_the_incident_serializer_does(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from incidents.api.serializers import IncidentSerializer

    utc, bangkok = ZoneInfo("UTC"), ZoneInfo("Asia/Bangkok")
    bare, full = make_incidents(1)[0], make_incidents(1, province=cast.hcm, severity="critical")[0]
    Incident.objects.filter(pk=full.pk).update(  # every nullable field set, odd microseconds and zones
        assignee=cast.lead, mitre_techniques=["T1110.001"], occurred_at=datetime(2026, 3, 1, 1, 2, 3, 450, bangkok),
        acknowledged_at=datetime(2026, 3, 1, 12, tzinfo=utc), contained_at=datetime(2026, 3, 2, tzinfo=bangkok),
        resolved_at=datetime(2026, 3, 3, 4, 5, 6, 7, utc), closed_at=datetime(2026, 3, 4, 0, 0, 0, 1, utc),
        last_seen_at=datetime(2026, 3, 1, tzinfo=utc), resolution_summary='"quoted" <b>', affected_systems="a\nb")
    with timezone.override(utc):  # the API answers in UTC
        expected = [dict(row) for row in IncidentSerializer(Incident.objects.all(), many=True).data]

    listed = api(cast.analyst).get("/api/v1/incidents/").json()["results"]

    assert listed == expected and [row["key"] for row in listed] == [full.key, bare.key]
    assert [list(row) for row in listed] == [list(IncidentSerializer.Meta.fields)] * 2


@pytest.mark.parametrize("micro", [0, 1, 100000, 999999])
def test_the_times_postgresql_writes_for_the_list_are_the_serializers(
        cast: Cast, make_incidents: Callable[..., list[Incident]], micro: int) -> None:
    from datetime import UTC, datetime

    from django.utils import timezone

    from incidents.api.serializers import IncidentSerializer, incident_rows, incident_values

    incident = make_incidents(1)[0]
    Incident.objects.filter(pk=incident.pk).update(closed_at=datetime(1999, 12, 31, 23, 59, 59, micro, UTC))
    with timezone.override(UTC):
        rows = incident_rows(incident_values(Incident.objects.filter(pk=incident.pk)))
        assert rows == [dict(IncidentSerializer(Incident.objects.get(pk=incident.pk)).data)]
