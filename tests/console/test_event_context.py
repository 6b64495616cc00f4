"""Surrounding events: the same host (or source address) a few minutes around one event, in scope."""

from __future__ import annotations

from soc import es as soc_es
from tests.conftest import Cast, signed_in
from tests.console.conftest import Indexer

URL = "/console/events/context"


def event_id(message: str) -> str:
    hits = soc_es.client().search(index=soc_es.events_pattern(), query={"match_phrase": {"message": message}})
    return str(hits["hits"]["hits"][0]["_id"])


def test_the_same_hosts_events_around_it_oldest_first(cast: Cast, index_events: Indexer) -> None:
    # 20 events a minute apart on web-01 (the 5th is 10 minutes ago), others on another host.
    index_events("HNI", 20, message="near", host="web-01", minutes_ago=5, step_seconds=60)
    index_events("HNI", 5, message="elsewhere", host="db-01", minutes_ago=9, step_seconds=30)
    anchor = event_id("near 5")
    response = signed_in(cast.hni_responder).get(URL, {"event": anchor, "field": "host.name", "minutes": "5"})
    events = response.context["context"].events
    assert [e.summary for e in events] == [f"near {n}" for n in range(10, -1, -1)]
    assert all(e.host == "web-01" for e in events)
    assert 'id="anchor-event"' in response.content.decode()


def test_by_source_address(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 3, message="from-a", host="h1", source={"ip": "203.0.113.5"}, step_seconds=10)
    index_events("HNI", 3, message="from-b", host="h1", source={"ip": "203.0.113.6"}, step_seconds=10)
    response = signed_in(cast.hni_responder).get(URL, {"event": event_id("from-a 1"), "field": "source.ip"})
    assert sorted(e.summary for e in response.context["context"].events) == ["from-a 0", "from-a 1", "from-a 2"]


def test_another_provinces_events_of_the_same_host_never_show(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 2, message="mine", host="shared-name")
    index_events("HCM", 2, message="hcm-secret", host="shared-name")
    response = signed_in(cast.hni_responder).get(URL, {"event": event_id("mine 0"), "field": "host.name"})
    assert [e.organisation for e in response.context["context"].events] == ["HNI", "HNI"]
    assert "hcm-secret" not in response.content.decode()


def test_another_provinces_event_is_not_found(cast: Cast, index_events: Indexer) -> None:
    index_events("HCM", message="hcm-secret")
    client = signed_in(cast.hni_responder)
    assert client.get(URL, {"event": event_id("hcm-secret 0")}).status_code == 404
    assert client.get(URL, {"event": "no-such-event"}).status_code == 404


def test_an_unknown_context_field_is_not_found_and_odd_minutes_fall_back(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="one")
    client = signed_in(cast.hni_responder)
    assert client.get(URL, {"event": event_id("one 0"), "field": "message"}).status_code == 404
    assert client.get(URL, {"event": event_id("one 0"), "minutes": "99999"}).context["minutes"] == 5


def test_an_event_without_the_field_shows_itself(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="no-source")
    response = signed_in(cast.hni_responder).get(URL, {"event": event_id("no-source 0"), "field": "source.ip"})
    assert [e.summary for e in response.context["context"].events] == ["no-source 0"]
