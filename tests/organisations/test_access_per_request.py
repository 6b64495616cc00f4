"""A user's grants are read once per request, and never outlive it: a revocation counts on the next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from organisations.models import Membership, Role
from organisations.selectors import access_read_once, user_grants
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _membership_reads(queries: CaptureQueriesContext) -> int:
    return sum('"organisations_membership"' in query["sql"] for query in queries.captured_queries)


def test_within_a_request_the_grants_are_read_once(cast: Cast) -> None:
    with access_read_once(), CaptureQueriesContext(connection) as queries:
        first, second = user_grants(cast.analyst), user_grants(cast.analyst)

    assert first == second == [("VN/", Role.CENTRAL_ANALYST)]
    assert _membership_reads(queries) == 1


def test_outside_a_request_every_call_reads_them_fresh(cast: Cast) -> None:
    with CaptureQueriesContext(connection) as queries:
        user_grants(cast.analyst)
        user_grants(cast.analyst)

    assert _membership_reads(queries) == 2


def test_a_membership_removed_during_the_request_stops_counting_in_the_rest_of_it(cast: Cast) -> None:
    with access_read_once():
        assert user_grants(cast.hni_responder) == [("VN/HNI/", Role.PROVINCIAL_RESPONDER)]
        Membership.objects.get(user=cast.hni_responder).delete()

        assert user_grants(cast.hni_responder) == []


def test_a_role_changed_without_signals_counts_on_the_next_request(cast: Cast) -> None:
    with access_read_once():
        assert user_grants(cast.analyst) == [("VN/", Role.CENTRAL_ANALYST)]
    Membership.objects.filter(user=cast.analyst).update(role=Role.AUDITOR)  # no signal: nothing to tell a memo

    with access_read_once():
        assert user_grants(cast.analyst) == [("VN/", Role.AUDITOR)]


@pytest.mark.parametrize("path", ["/incidents/", "/api/v1/incidents/"])
def test_a_page_reads_the_memberships_once(path: str, client: Client, cast: Cast) -> None:
    client.force_login(cast.hni_responder)
    client.get(path)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200

    assert _membership_reads(queries) == 1
