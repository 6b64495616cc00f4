"""Four synthetic provinces of known quality, written to the real Elasticsearch and PostgreSQL.

- HNI is perfect: two collectors, every checklist source every hour, complete fields, 5 s lag,
  incidents acknowledged in 1 h and resolved in 24 h, its one request for action done on time.
- HCM has a silent collector: HCM-FW-02 (firewall, DNS, mail) last sent three days before the day.
- DNG sends malformed logs: as many generic-parser lines as parsed ones, parser crashes, dead letters.
- HUE is slow to respond: perfect data, but incidents acknowledged after 2 days, resolved after
  10, every SLA missed and four requests for action overdue.
Every other province has nothing and must rank below these four.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from elasticsearch import Elasticsearch
from pytest_django.fixtures import Settings

from organisations.models import Organisation
from organisations.services import organisation_tree_ensure
from readiness.models import ProvinceTarget, ReadinessSnapshot
from readiness.services import scorecards_compute
from readiness.windows import window_for
from tests.readiness import synthetic as syn

AUTH_WEB_ENDPOINT = ["authentication", "web", "endpoint"]
FW_DNS_MAIL = ["firewall", "dns", "mail"]


@pytest.fixture(autouse=True)
def fast_passwords(settings: Settings) -> None:
    """The cast's passwords are hashed for every test; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    day: date
    start: datetime
    provinces: dict[str, Organisation]
    cards: dict[str, ReadinessSnapshot] = field(default_factory=dict)


def _good_response(org: Organisation, start: datetime) -> None:
    first = syn.incident(org, f"{org.code}-2026-9001", start - timedelta(days=5),
                         timedelta(hours=1), timedelta(hours=24))
    syn.incident(org, f"{org.code}-2026-9002", start - timedelta(days=3), timedelta(hours=1), timedelta(hours=24))
    syn.request(first, due=start - timedelta(days=4), done=start - timedelta(days=4, hours=2))


def _two_perfect_collectors(es: Elasticsearch, org: Organisation, start: datetime) -> None:
    one = syn.collector(org, f"{org.code}-WEB-01", start - timedelta(days=30))
    two = syn.collector(org, f"{org.code}-FW-02", start - timedelta(days=30))
    syn.write(es, syn.hourly(one, start, AUTH_WEB_ENDPOINT) + syn.hourly(two, start, FW_DNS_MAIL))


def _perfect(es: Elasticsearch, org: Organisation, start: datetime) -> None:
    _two_perfect_collectors(es, org, start)
    _good_response(org, start)


def _silent(es: Elasticsearch, org: Organisation, start: datetime) -> None:
    one = syn.collector(org, f"{org.code}-WEB-01", start - timedelta(days=30))
    two = syn.collector(org, f"{org.code}-FW-02", start - timedelta(days=30))
    three_days_before = start - timedelta(days=3) + timedelta(hours=10)
    syn.write(es, syn.hourly(one, start, AUTH_WEB_ENDPOINT) + syn.hourly(two, three_days_before, FW_DNS_MAIL, hours=1))
    _good_response(org, start)


def _malformed(es: Elasticsearch, org: Organisation, start: datetime) -> None:
    _two_perfect_collectors(es, org, start)
    noisy = org.collectors.get(name=f"{org.code}-WEB-01")
    # 144 parsed events; 144 generic lines, 12 of them parser crashes; 36 dead letters.
    syn.write(es, syn.generic(noisy, start, per_hour=6, errors_every=12))
    syn.dead_letters(es, noisy, start, 36)
    _good_response(org, start)


def _slow(es: Elasticsearch, org: Organisation, start: datetime) -> None:
    _two_perfect_collectors(es, org, start)
    for n in range(4):
        item = syn.incident(org, f"{org.code}-2026-900{n}", start - timedelta(days=12, hours=n),
                            acknowledged=timedelta(days=2), resolved=timedelta(days=10))
        syn.request(item, due=start - timedelta(days=1, hours=n), done=None)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, es_client: Elasticsearch) -> Iterator[World]:
    """Built once per module inside a transaction that is rolled back at the end (tests only read it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        _drop_indices(es_client)
        organisation_tree_ensure()
        day = timezone.localdate() - timedelta(days=2)
        start = window_for(day).start
        provinces = {code: Organisation.objects.get(code=code) for code in ("HNI", "HCM", "DNG", "HUE")}
        for org in provinces.values():
            ProvinceTarget.objects.create(province=org, expected_collectors=2, required_sources=syn.ALL_KINDS)
        _perfect(es_client, provinces["HNI"], start)
        _silent(es_client, provinces["HCM"], start)
        _malformed(es_client, provinces["DNG"], start)
        _slow(es_client, provinces["HUE"], start)
        world = World(day=day, start=start, provinces=provinces)
        world.cards = {s.province.code: s for s in scorecards_compute(day=day)}
        yield world
        transaction.set_rollback(True)
    _drop_indices(es_client)


def _drop_indices(es: Elasticsearch) -> None:
    es.indices.delete(index=f"{settings.ES_INDEX_PREFIX}*", ignore_unavailable=True, allow_no_indices=True,
                      expand_wildcards="all")
