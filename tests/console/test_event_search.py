"""Event search (hunting) on the real Elasticsearch: scope, paging, pivots, errors."""

from __future__ import annotations

import re

from django.test import Client

from tests.conftest import Cast
from tests.console.conftest import Indexer

URL = "/console/events/"


def login(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_a_provincial_user_never_sees_another_provinces_events(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="canary-hni-7f3a")
    index_events("HCM", message="canary-hcm-91bc")
    client = login(Client(), cast.hni_responder)
    for query in ("", "canary*", "organization.id:HCM", "canary-hcm-91bc", "*"):
        response = client.get(URL, {"q": query})
        assert all(e.organisation == "HNI" for e in response.context["page"].events), query
        if "hcm" not in query.lower():
            assert "canary-hcm-91bc" not in response.content.decode(), query
    assert "canary-hni-7f3a" in client.get(URL, {"q": "canary*"}).content.decode()


def test_a_central_analyst_sees_every_province(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="canary-hni-7f3a")
    index_events("HCM", message="canary-hcm-91bc")
    body = login(Client(), cast.analyst).get(URL).content.decode()
    assert "canary-hni-7f3a" in body and "canary-hcm-91bc" in body


def test_results_page_with_search_after_without_overlap(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 60, message="paged")
    client = login(Client(), cast.hni_responder)
    response = client.get(URL)
    assert response.context["page"].total == 60
    first = response.content.decode()
    first_rows = set(re.findall(r"paged \d+", first))
    next_link = re.search(r'id="next-page" href="([^"]+)"', first)
    assert next_link, "no link to the next page"
    second = client.get(URL + next_link.group(1).replace("&amp;", "&")).content.decode()
    second_rows = set(re.findall(r"paged \d+", second))
    assert len(first_rows) == 50 and len(second_rows) == 10
    assert not first_rows & second_rows
    assert 'id="next-page"' not in second


def test_a_value_filter_keeps_only_matching_events_and_a_negated_one_drops_them(
        cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 3, message="alpha", host="hni-web-01")
    index_events("HNI", 2, message="beta", host="hni-db-01")
    client = login(Client(), cast.hni_responder)
    kept = client.get(URL, {"f": "host.name:hni-db-01"})
    assert kept.context["page"].total == 2 and "alpha" not in kept.content.decode()
    dropped = client.get(URL, {"nf": "host.name:hni-db-01"})
    assert dropped.context["page"].total == 3 and "beta" not in dropped.content.decode()


def test_every_field_value_links_to_a_filter_on_it(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", host="hni-web-01")
    body = login(Client(), cast.hni_responder).get(URL).content.decode()
    assert "f=host.name%3Ahni-web-01" in body
    assert "nf=host.name%3Ahni-web-01" in body


def test_the_histogram_counts_every_matching_event(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 7, minutes_ago=30, step_seconds=120)
    response = login(Client(), cast.hni_responder).get(URL, {"range": "1h"})
    buckets = response.context["page"].histogram
    assert sum(b.count for b in buckets) == 7
    assert len(buckets) >= 12


def test_a_malformed_query_gets_a_clear_error(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI")
    response = login(Client(), cast.hni_responder).get(URL, {"q": "message:(unclosed"})
    assert response.status_code == 400
    assert "check its syntax" in response.content.decode() or "cú pháp" in response.content.decode()


def test_a_malformed_filter_or_range_gets_a_clear_error(cast: Cast) -> None:
    client = login(Client(), cast.hni_responder)
    assert client.get(URL, {"f": "no-colon"}).status_code == 400
    backwards = {"range": "custom", "start": "2026-11-28T10:00", "end": "2026-11-28T09:00"}
    assert client.get(URL, backwards).status_code == 400
    assert client.get(URL, {"range": "forever"}).status_code == 400


def test_an_empty_store_shows_no_events(cast: Cast, es: object) -> None:
    response = login(Client(), cast.hni_responder).get(URL)
    assert response.status_code == 200
    assert response.context["page"].total == 0


def test_signed_out_visitors_are_sent_to_sign_in(db: None) -> None:
    response = Client().get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
