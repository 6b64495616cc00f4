"""Per-province retention on real indices: a day goes once every province in it is past its own days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from elasticsearch import Elasticsearch

from collectors.models import ProvinceRetention
from collectors.selectors import retention_days_by_org_code
from collectors.services import event_indices_delete_expired
from collectors.tasks import delete_expired_event_indices
from organisations.models import Kind, Organisation
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def day_index(es: Elasticsearch, days_ago: int, *orgs: str | None, kind: str = "events") -> str:
    """A daily index holding one event per organisation code given (None: an event without one)."""
    name = f"{settings.ES_INDEX_PREFIX}{kind}-{NOW - timedelta(days=days_ago):%Y.%m.%d}"
    es.indices.create(index=name)
    for n, org in enumerate(orgs):
        doc: dict[str, object] = {"@timestamp": (NOW - timedelta(days=days_ago)).isoformat(), "message": f"event {n}"}
        if org is not None:
            doc["organization"] = {"id": org}
        es.index(index=name, id=str(n), document=doc)
    es.indices.refresh(index=name)
    return name


def left(es: Elasticsearch) -> set[str]:
    return set(es.indices.get(index=f"{settings.ES_INDEX_PREFIX}*"))


def test_a_province_with_short_retention_loses_its_own_old_days(cast: Cast, es: Elasticsearch) -> None:
    ProvinceRetention.objects.create(organisation=cast.hni, days=10)
    hni_only = day_index(es, 20, "HNI")
    recent = day_index(es, 5, "HNI")

    deleted = event_indices_delete_expired(now=NOW, days=30)

    assert deleted == [hni_only]
    assert left(es) == {recent}


def test_a_day_shared_with_a_longer_keeping_province_stays_until_that_one_expires(
        cast: Cast, es: Elasticsearch) -> None:
    ProvinceRetention.objects.create(organisation=cast.hni, days=10)
    shared = day_index(es, 20, "HNI", "HCM")
    both_past = day_index(es, 31, "HNI", "HCM")

    assert event_indices_delete_expired(now=NOW, days=30) == [both_past]
    assert left(es) == {shared}


def test_a_longer_province_retention_keeps_days_past_the_national_default(cast: Cast, es: Elasticsearch) -> None:
    ProvinceRetention.objects.create(organisation=cast.hcm, days=365)
    hcm_old = day_index(es, 100, "HCM")
    hni_old = day_index(es, 101, "HNI")
    dead_letters = day_index(es, 100, "HCM", kind="deadletter")

    assert event_indices_delete_expired(now=NOW, days=30) == [hni_old]
    assert left(es) == {hcm_old, dead_letters}


def test_a_site_follows_its_provinces_retention(cast: Cast, es: Elasticsearch) -> None:
    Organisation.objects.create(code="HNI-S1", name="Sở Y tế Hà Nội", kind=Kind.SITE, parent=cast.hni)
    ProvinceRetention.objects.create(organisation=cast.hni, days=7)

    assert retention_days_by_org_code(default_days=30)["HNI-S1"] == 7
    site_day = day_index(es, 8, "HNI-S1")
    assert event_indices_delete_expired(now=NOW, days=30) == [site_day]


def test_events_without_an_owner_are_kept_for_the_national_default(cast: Cast, es: Elasticsearch) -> None:
    ProvinceRetention.objects.create(organisation=cast.hni, days=5)
    ownerless = day_index(es, 10, "HNI", None)

    assert event_indices_delete_expired(now=NOW, days=30) == []
    assert left(es) == {ownerless}


def test_the_hourly_task_uses_the_configured_default(cast: Cast, es: Elasticsearch) -> None:
    today = datetime.now(UTC)
    old = f"{settings.ES_INDEX_PREFIX}events-{today - timedelta(days=settings.EVENT_RETENTION_DAYS + 1):%Y.%m.%d}"
    es.indices.create(index=old)

    assert delete_expired_event_indices() == [old]
