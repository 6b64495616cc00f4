"""Shared fixtures: the real services, the organisation tree and a fixed cast of users.

Integration tests run against the Elasticsearch, Redis and PostgreSQL that
scripts/services.sh started; SOC_NAMESPACE keeps this run's indices, keys and
test database apart from any other run on the same services.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from elasticsearch import Elasticsearch

from collectors.models import Collector
from collectors.services import collector_create
from organisations.models import Organisation, Role
from organisations.services import organisation_tree_ensure, user_with_role
from soc import es as soc_es
from tests.processes import Platform, platform_serving

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def es_client() -> Iterator[Elasticsearch]:
    client = soc_es.client()
    try:
        client.cluster.health(wait_for_status="yellow", timeout="30s")
    except Exception as exc:
        pytest.fail(f"Elasticsearch at {settings.ELASTICSEARCH_URL} is not answering "
                    f"(start it with scripts/services.sh start test): {exc}")
    soc_es.ensure_templates(client)
    yield client
    client.indices.delete(index=f"{settings.ES_INDEX_PREFIX}*", ignore_unavailable=True,
                          allow_no_indices=True, expand_wildcards="all")
    for kind in ("events", "deadletter"):
        client.options(ignore_status=404).indices.delete_index_template(name=f"{settings.ES_INDEX_PREFIX}{kind}")


@pytest.fixture
def es(es_client: Elasticsearch) -> Iterator[Elasticsearch]:
    """Each test starts with no events, alerts or dead letters of this run."""
    es_client.indices.delete(index=f"{settings.ES_INDEX_PREFIX}*", ignore_unavailable=True,
                             allow_no_indices=True, expand_wildcards="all")
    yield es_client


@dataclass
class Cast:
    national: Organisation
    hni: Organisation
    hcm: Organisation
    lead: User
    analyst: User
    auditor: User
    hni_responder: User
    hcm_responder: User


@pytest.fixture
def cast(db: None) -> Cast:
    national = organisation_tree_ensure()
    hni, hcm = Organisation.objects.get(code="HNI"), Organisation.objects.get(code="HCM")

    def make(name: str, org: Organisation, role: str) -> User:
        user = user_with_role(username=name, password=PASSWORD, organisation=org, role=role)
        assert isinstance(user, User)
        return user

    return Cast(
        national=national, hni=hni, hcm=hcm,
        lead=make("lead", national, Role.CENTRAL_LEAD),
        analyst=make("analyst", national, Role.CENTRAL_ANALYST),
        auditor=make("auditor", national, Role.AUDITOR),
        hni_responder=make("hni.responder", hni, Role.PROVINCIAL_RESPONDER),
        hcm_responder=make("hcm.responder", hcm, Role.PROVINCIAL_RESPONDER),
    )


@dataclass
class EnrolledCollector:
    collector: Collector
    secret: str

    @property
    def auth(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}


@pytest.fixture
def hni_collector(cast: Cast) -> EnrolledCollector:
    collector, secret = collector_create(organisation=cast.hni, name="HNI-WEB-01")
    return EnrolledCollector(collector, secret)


@pytest.fixture
def hcm_collector(cast: Cast) -> EnrolledCollector:
    collector, secret = collector_create(organisation=cast.hcm, name="HCM-WEB-01")
    return EnrolledCollector(collector, secret)


@pytest.fixture
def platform(transactional_db: None, es: Elasticsearch, tmp_path: Path) -> Iterator[Platform]:
    """The platform on real processes: the web app, a Celery worker and beat (tests/processes.py)."""
    yield from platform_serving(tmp_path)


def signed_in(user: object) -> Client:
    """A test client with ``user``'s session (no password, no second factor: what the page does is under test)."""
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client
