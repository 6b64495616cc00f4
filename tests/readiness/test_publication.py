"""The central lead decides when a period is published; only published periods are served as the summary."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from organisations.models import AuditLog, Organisation
from readiness.models import PublishedPeriod, ReadinessSnapshot
from tests.conftest import Cast
from tests.readiness.factories import snapshot

pytestmark = pytest.mark.django_db
DAYS = [date(2026, 11, 19), date(2026, 11, 20)]


@pytest.fixture
def cards(cast: Cast) -> None:
    """Both days complete: the three provinces below, and every other one at 0."""
    for day in DAYS:
        snapshot(cast.hni, day, 95.0 if day == DAYS[0] else 85.0, "ready")
        snapshot(cast.hcm, day, 40.0, "not_ready", collector_name="HCM-SECRET-HOST")
        snapshot(Organisation.objects.get(code="DNG"), day, 70.0)
        for org in Organisation.objects.provinces().exclude(code__in=["HNI", "HCM", "DNG"]):
            snapshot(org, day, 0.0, "not_ready")


def publish(client: Client, start: str = "2026-11-19", end: str = "2026-11-20") -> int:
    response = client.post("/api/v1/readiness/publications/", {"start": start, "end": end},
                           content_type="application/json")
    return response.status_code


def test_the_central_lead_publishes_a_period_and_it_is_audited(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.lead)

    assert publish(client) == 201
    assert PublishedPeriod.objects.get().published_by == cast.lead
    assert AuditLog.objects.filter(action="readiness.publish", actor_name="lead").count() == 1


@pytest.mark.parametrize("role", ["analyst", "auditor", "hni_responder"])
def test_no_one_else_can_publish(client: Client, cast: Cast, cards: None, role: str) -> None:
    client.force_login(getattr(cast, role))

    assert publish(client) == 403
    assert not PublishedPeriod.objects.exists()


def test_a_period_with_a_day_not_computed_is_refused_with_the_reason(client: Client, cast: Cast,
                                                                     cards: None) -> None:
    client.force_login(cast.lead)
    response = client.post("/api/v1/readiness/publications/", {"start": "2026-11-18", "end": "2026-11-20"},
                           content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "scorecards are missing for 2026-11-18 (1 days incomplete): compute them first (manage.py readiness_compute)")
    assert not PublishedPeriod.objects.exists()


def test_a_day_computed_for_only_some_provinces_cannot_be_published(client: Client, cast: Cast,
                                                                    cards: None) -> None:
    ReadinessSnapshot.objects.filter(day=DAYS[1], province__code="LCI").delete()
    client.force_login(cast.lead)

    assert publish(client) == 400
    assert not PublishedPeriod.objects.exists()


def test_a_period_ending_before_it_starts_is_refused(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.lead)

    assert publish(client, "2026-11-20", "2026-11-19") == 400


def test_the_publish_form_is_shown_to_the_lead_only(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.analyst)
    assert 'action="/readiness/publish/"' not in client.get("/readiness/").content.decode()
    assert client.post("/readiness/publish/", {"start": "2026-11-19", "end": "2026-11-20"}).status_code == 403

    client.force_login(cast.lead)
    assert 'action="/readiness/publish/"' in client.get("/readiness/").content.decode()
    response = client.post("/readiness/publish/", {"start": "2026-11-19", "end": "2026-11-20"})
    assert response.status_code == 302 and response["Location"] == "/readiness/public/2026-11-19/2026-11-20/"


def test_an_unpublished_period_is_404_everywhere(client: Client, cast: Cast, cards: None) -> None:
    client.force_login(cast.lead)

    for path in ["/readiness/public/", "/readiness/public/2026-11-19/2026-11-20/",
                 "/readiness/public/2026-11-19/2026-11-20/report.csv",
                 "/readiness/public/2026-11-19/2026-11-20/report.pdf",
                 "/api/v1/readiness/public/", "/api/v1/readiness/public/?start=2026-11-19&end=2026-11-20"]:
        assert client.get(path).status_code == 404, path


def test_the_public_summary_ranks_mean_scores_with_levels_and_nothing_else(client: Client, cast: Cast,
                                                                          cards: None) -> None:
    PublishedPeriod.objects.create(start=DAYS[0], end=DAYS[1], published_by=cast.lead)
    client.force_login(cast.hcm_responder)
    body = client.get("/api/v1/readiness/public/").json()

    assert (body["start"], body["end"]) == ("2026-11-19", "2026-11-20")
    assert len(body["results"]) == 34
    assert [(r["rank"], r["code"], r["score"], r["level"], r["days"]) for r in body["results"][:3]] == [
        (1, "HNI", 90.0, "ready", 2), (2, "DNG", 70.0, "partial", 2), (3, "HCM", 40.0, "not_ready", 2)]
    assert set(body["results"][0]) == {"rank", "code", "name", "score", "level", "days"}
    assert "HCM-SECRET-HOST" not in client.get("/readiness/public/").content.decode()


@pytest.mark.parametrize(("form", "message"), [
    ({"start": "2026-11-19"}, "start and end must be dates (YYYY-MM-DD)"),
    ({"start": "19/11/2026", "end": "2026-11-20"}, "start and end must be dates (YYYY-MM-DD)"),
    ({"start": "2026-11-01", "end": "2026-11-20"}, "scorecards are missing for 2026-11-01 (18 days incomplete)"),
])
def test_the_publish_form_explains_what_is_wrong(client: Client, cast: Cast, cards: None, form: dict[str, str],
                                                 message: str) -> None:
    client.force_login(cast.lead)
    response = client.post("/readiness/publish/", form)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PublishedPeriod.objects.exists()
