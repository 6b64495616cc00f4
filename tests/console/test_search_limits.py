"""Costly searches: no regular expressions or leading wildcards, a server-side timeout on every search, points in
time closed when done, one export at a time per user."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client, RequestFactory
from elasticsearch import Elasticsearch, NotFoundError

from console.search import SearchError, parse_search
from console.views import event_export_view
from incidents.services.intake import incident_create
from soc import es as soc_es
from tests.conftest import Cast
from tests.console.conftest import Indexer

URL = "/console/events/"
EXPORT = "/console/events/export.csv"
HOSTILE = [
    "/.*/", "a OR /.*/", "field:/x.*/", "message:/(a+)+$/", "host.name:(web OR /d.*/)", "a/b", "-/x/",
    "*foo", "?oo", "message:*admin", "-*foo", "(*foo)", "host.name:(web OR *db)", "*:foo", "*.name:web",
    "NOT ?dmin", "a AND +*b",
]
FINE = ['"/etc/passwd"', "message:\\/etc\\/passwd", "\\/.*\\/", "web*", "*", "*:*", "message:*", "a-*b",
        "\\*foo", 'message:"a /.*/ b"', "[* TO z]", "user.*:admin", 'message:"say \\"/x/\\""']


@pytest.fixture(autouse=True)
def no_leftover_locks(request: pytest.FixtureRequest) -> None:
    """User ids repeat from one test database to the next; the cache (Redis) does not start empty."""
    if "cast" not in request.fixturenames:
        return
    cast = request.getfixturevalue("cast")
    users = (cast.hni_responder, cast.hcm_responder, cast.analyst)
    cache.delete_many([f"console:{kind}:{user.pk}" for user in users for kind in ("export", "pits")])


def english(user: object) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)  # type: ignore[arg-type]
    return client


def query_dict(q: str) -> Any:
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    data["q"] = q
    return data


@pytest.mark.parametrize("query", HOSTILE)
def test_a_regular_expression_or_a_leading_wildcard_is_refused_by_the_parser(query: str) -> None:
    with pytest.raises(SearchError):
        parse_search(query_dict(query))


@pytest.mark.parametrize("query", FINE)
def test_quoted_or_escaped_slashes_and_trailing_wildcards_are_fine(query: str) -> None:
    assert parse_search(query_dict(query)).query == query


@pytest.mark.parametrize("query", ["a OR /.*/", "message:*admin"])
def test_the_page_says_why_a_costly_query_is_refused(cast: Cast, index_events: Indexer, query: str) -> None:
    index_events("HNI")
    response = english(cast.hni_responder).get(URL, {"q": query})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="search-error"' in body
    assert re.search(r"regular expression|leading wildcard", response.context["error"], re.I), response.context["error"]


def test_a_costly_export_is_refused_with_the_same_message(cast: Cast) -> None:
    response = english(cast.hni_responder).get(EXPORT, {"q": "field:/x.*/"})
    assert response.status_code == 400 and "regular expression" in response.content.decode().lower()


def test_a_slash_in_quotes_finds_the_path(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="read /etc/passwd")
    response = english(cast.hni_responder).get(URL, {"q": '"/etc/passwd"'})
    assert response.status_code == 200 and response.context["page"].total == 1


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The parameters of every search sent to Elasticsearch during the test."""
    sent: list[dict[str, Any]] = []
    real = Elasticsearch.search

    def search(self: Elasticsearch, **kwargs: Any) -> Any:
        sent.append(kwargs)
        return real(self, **kwargs)

    monkeypatch.setattr(Elasticsearch, "search", search)
    return sent


def test_every_user_search_carries_a_server_side_timeout(cast: Cast, index_events: Indexer, settings: Any,
                                                         searches: list[dict[str, Any]]) -> None:
    settings.SOC_SEARCH_TIMEOUT_SECONDS = 7
    index_events("HNI", 3)
    client = english(cast.hni_responder)
    client.get(URL, {"q": "event"})
    b"".join(client.get(EXPORT).streaming_content)  # type: ignore[attr-defined]
    client.get("/console/dashboard/")
    assert len(searches) >= 3
    assert {s.get("timeout") for s in searches} == {"7s"}


@pytest.fixture
def opened_pits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real = soc_es.events_pit_open

    def pit_open() -> str | None:
        pit_id = real()
        if pit_id:
            opened.append(pit_id)
        return pit_id

    monkeypatch.setattr(soc_es, "events_pit_open", pit_open)
    return opened


def is_open(es: Elasticsearch, pit_id: str) -> bool:
    try:
        es.search(pit={"id": pit_id}, size=0)
    except NotFoundError:
        return False
    return True


def test_a_search_that_fits_on_one_page_keeps_no_point_in_time_open(
        cast: Cast, index_events: Indexer, es: Elasticsearch, opened_pits: list[str]) -> None:
    index_events("HNI", 3)
    assert english(cast.hni_responder).get(URL).status_code == 200
    assert opened_pits and not any(is_open(es, pit) for pit in opened_pits)


def next_link(body: str) -> str:
    found = re.search(r'id="next-page" href="\?([^"]+)"', body)
    assert found, "no link to the next page"
    return URL + "?" + found.group(1).replace("&amp;", "&")


def test_a_user_keeps_a_bounded_number_of_result_pages_open(
        cast: Cast, index_events: Indexer, es: Elasticsearch, settings: Any, opened_pits: list[str]) -> None:
    settings.SOC_SEARCH_PITS_PER_USER = 2
    index_events("HNI", 60, message="paged")
    client = english(cast.hni_responder)
    links = [next_link(client.get(URL, {"range": r}).content.decode()) for r in ("1h", "24h", "7d")]
    assert len(opened_pits) == 3
    assert not is_open(es, opened_pits[0]) and is_open(es, opened_pits[1]) and is_open(es, opened_pits[2])
    oldest = client.get(links[0])
    assert oldest.status_code == 400 and "expired" in oldest.context["error"]
    assert client.get(links[2]).status_code == 200


def test_the_last_page_closes_its_point_in_time(
        cast: Cast, index_events: Indexer, es: Elasticsearch, opened_pits: list[str]) -> None:
    index_events("HNI", 60, message="paged")
    client = english(cast.hni_responder)
    last = client.get(next_link(client.get(URL).content.decode()))
    assert last.status_code == 200 and 'id="next-page"' not in last.content.decode()
    assert not any(is_open(es, pit) for pit in opened_pits)


def test_a_point_in_time_id_the_user_was_not_given_is_refused(cast: Cast, index_events: Indexer,
                                                              es: Elasticsearch) -> None:
    index_events("HNI", 60, message="paged")
    other = english(cast.analyst)
    link = next_link(other.get(URL).content.decode())
    response = english(cast.hni_responder).get(link)
    assert response.status_code == 400 and "expired" in response.context["error"]


def close(response: Any) -> None:
    """What the server does when a download ends or is abandoned (as the test client does after reading it all,
    without closing the test's database connection)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def started_export(cast: Cast, index_events: Indexer) -> Iterator[tuple[Client, Any]]:
    index_events("HNI", 5)
    client = english(cast.hni_responder)
    response = client.get(EXPORT)
    assert response.status_code == 200
    yield client, response
    close(response)


def test_a_second_export_while_one_runs_is_refused_with_429(started_export: tuple[Client, Any]) -> None:
    client, _running = started_export
    second = client.get(EXPORT)
    assert second.status_code == 429
    assert "export" in second.content.decode().lower() and second.has_header("Retry-After")


def test_another_user_may_export_meanwhile(cast: Cast, started_export: tuple[Client, Any]) -> None:
    assert english(cast.hcm_responder).get(EXPORT).status_code == 200


def test_the_next_export_may_start_once_the_first_is_done(started_export: tuple[Client, Any]) -> None:
    client, running = started_export
    assert len(rows(running)) == 1 + 5
    assert client.get(EXPORT).status_code == 200


def test_an_export_abandoned_midway_frees_the_lock_and_its_point_in_time(
        cast: Cast, index_events: Indexer, es: Elasticsearch, opened_pits: list[str]) -> None:
    index_events("HNI", 5)
    request = RequestFactory().get(EXPORT)
    request.user = cast.hni_responder
    running = event_export_view(request)  # called directly: the test client's own closing would get in the way
    lines = iter(running)
    next(lines), next(lines)  # the header and the first event: the point in time is open
    assert opened_pits and is_open(es, opened_pits[0])
    close(running)
    assert not is_open(es, opened_pits[0])
    assert english(cast.hni_responder).get(EXPORT).status_code == 200


def test_a_finished_export_closes_its_point_in_time(cast: Cast, index_events: Indexer, es: Elasticsearch,
                                                    opened_pits: list[str]) -> None:
    index_events("HNI", 5)
    assert len(rows(english(cast.hni_responder).get(EXPORT))) == 1 + 5
    assert opened_pits and not any(is_open(es, pit) for pit in opened_pits)


def test_the_sidebar_context_and_attached_searches_carry_the_timeout_and_the_scope(
        cast: Cast, index_events: Indexer, settings: Any, searches: list[dict[str, Any]]) -> None:
    settings.SOC_SEARCH_TIMEOUT_SECONDS = 7
    index_events("HNI", 3, source={"ip": "203.0.113.5"})
    client = english(cast.hni_responder)
    page = client.get(URL, {"cols": "source.ip", "sort": "source.ip:asc"})
    event = page.context["page"].events[0]
    client.get("/console/events/context", {"event": event.id, "field": "source.ip"})
    incident = incident_create(province=cast.hni, title="t")
    client.post("/console/events/attach-search", {"incident": incident.key, "search": "q=event"})
    aggregations = [s for s in searches if s.get("aggs") and any("terms" in a for a in s["aggs"].values())]
    assert aggregations, "the sidebar's aggregation was not sent"
    assert len(searches) >= 6
    assert {s.get("timeout") for s in searches} == {"7s"}
    scope = {"terms": {"organization.id": ["HNI"]}}
    assert all(scope in s["query"]["bool"]["filter"] for s in searches)
