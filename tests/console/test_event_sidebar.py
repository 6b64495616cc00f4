"""The field sidebar of event search, on the real Elasticsearch: counts, scope, filters, columns, sort."""

from __future__ import annotations

from typing import Any

from console.search import parse_search
from tests.conftest import Cast, signed_in
from tests.console.conftest import Indexer

URL = "/console/events/"


def fields_of(response: Any) -> dict[str, dict[str, int]]:
    return {row.summary.name: {v.value: v.count for v in row.values} for row in response.context["sidebar_rows"]}


def seed(index_events: Indexer) -> None:
    index_events("HNI", 6, host="hni-web-01", user={"name": "root"}, source={"ip": "203.0.113.5"})
    index_events("HNI", 3, host="hni-db-01", user={"name": "oracle"}, source={"ip": "203.0.113.9"})
    index_events("HNI", 1, host="hni-db-01", user={"name": "root"})
    index_events("HCM", 40, host="hcm-web-01", user={"name": "hcm-only"}, source={"ip": "198.51.100.1"})


def test_top_values_count_every_matching_event_of_the_users_scope(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    fields = fields_of(signed_in(cast.hni_responder).get(URL))
    assert fields["host.name"] == {"hni-web-01": 6, "hni-db-01": 4}
    assert fields["user.name"] == {"root": 7, "oracle": 3}
    assert fields["source.ip"] == {"203.0.113.5": 6, "203.0.113.9": 3}
    assert fields["organization.id"] == {"HNI": 10}
    assert "message" not in fields and "@timestamp" not in fields  # free text and times have no top values


def test_the_centre_counts_every_province(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    fields = fields_of(signed_in(cast.analyst).get(URL))
    assert fields["organization.id"] == {"HCM": 40, "HNI": 10}
    assert fields["user.name"]["hcm-only"] == 40


def test_another_provinces_values_and_fields_never_show(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    index_events("HCM", 2, host="hcm-x", **{"hcmsecretfield": "hcm-secret-value"})
    body = signed_in(cast.hni_responder).get(URL, {"q": "*"}).content.decode()
    for secret in ("hcm-only", "198.51.100.1", "hcm-web-01", "hcmsecretfield", "hcm-secret-value"):
        assert secret not in body, secret


def test_the_sidebar_counts_the_same_query_and_filters_as_the_results(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    response = signed_in(cast.hni_responder).get(URL, {"q": "user.name:root", "nf": "host.name:hni-db-01"})
    assert response.context["page"].total == 6
    assert fields_of(response)["host.name"] == {"hni-web-01": 6}


def test_a_value_links_to_the_search_filtered_in_or_out(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    client = signed_in(cast.hni_responder)
    rows = client.get(URL).context["sidebar_rows"]
    db = next(v for row in rows if row.summary.name == "host.name" for v in row.values if v.value == "hni-db-01")
    kept = client.get(f"{URL}?{db.filter_in}")
    assert kept.context["page"].total == 4 and fields_of(kept)["host.name"] == {"hni-db-01": 4}
    dropped = client.get(f"{URL}?{db.filter_out}")
    assert dropped.context["page"].total == 6 and "hni-db-01" not in fields_of(dropped)["host.name"]
    # Filtering out a value that is filtered in replaces the filter rather than contradicting it.
    flipped = next(v for row in kept.context["sidebar_rows"] if row.summary.name == "host.name" for v in row.values)
    assert client.get(f"{URL}?{flipped.filter_out}").context["page"].total == 6


def test_chosen_columns_are_shown_and_kept_in_the_url(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    client = signed_in(cast.hni_responder)
    response = client.get(URL, {"cols": "user.name,source.ip"})
    assert [c.name for c in response.context["columns"]] == ["user.name", "source.ip"]
    cells = {tuple(cells) for _event, cells in response.context["rows"]}
    assert ("root", "203.0.113.5") in cells and ("oracle", "203.0.113.9") in cells and ("root", "") in cells
    assert "cols=user.name%2Csource.ip" in response.context["base_query"]
    toggle = next(r.toggle_column for r in response.context["sidebar_rows"] if r.summary.name == "user.name")
    assert [c.name for c in client.get(f"{URL}?{toggle}").context["columns"]] == ["source.ip"]


def test_events_sort_by_a_column_both_ways(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    client = signed_in(cast.hni_responder)
    up = [e.fields.get("user.name") for e in client.get(URL, {"sort": "user.name:asc"}).context["page"].events]
    assert up == ["oracle"] * 3 + ["root"] * 7
    down = [e.fields.get("user.name") for e in client.get(URL, {"sort": "user.name:desc"}).context["page"].events]
    assert down == ["root"] * 7 + ["oracle"] * 3


def test_sorted_pages_follow_each_other_without_overlap(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 40, host="a-host")
    index_events("HNI", 30, host="b-host", minutes_ago=2)
    index_events("HNI", 5, host="c-host", user={"name": "x"})
    client = signed_in(cast.hni_responder)
    first = client.get(URL, {"sort": "user.name:asc"})
    page = first.context["page"]
    assert page.next_after
    second = client.get(URL, {"sort": "user.name:asc", "pit": page.pit_id, "after": page.next_after})
    ids = [e.id for e in page.events] + [e.id for e in second.context["page"].events]
    assert len(ids) == len(set(ids)) == 75
    assert [e.host for e in page.events[:5]] == ["c-host"] * 5  # events without the field come last


def test_sorting_by_free_text_or_a_bad_sort_is_a_clear_error(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    client = signed_in(cast.hni_responder)
    free_text = client.get(URL, {"sort": "message:asc"})
    assert free_text.status_code == 400 and "message" in free_text.context["error"]
    assert not free_text.context["page"].events  # refused before Elasticsearch is asked
    assert client.get(URL, {"sort": "user.name:sideways"}).status_code == 400
    assert client.get(URL, {"cols": ",".join(f"f{n}" for n in range(13))}).status_code == 400


def test_hostile_values_are_escaped_in_the_sidebar(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 2, host='<img src=x onerror="alert(1)">', user={"name": "<script>alert(2)</script>"})
    body = signed_in(cast.hni_responder).get(URL).content.decode()
    assert "<script>alert(2)" not in body and '<img src=x onerror' not in body
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body


def test_the_field_list_is_bounded_however_many_fields_the_events_have(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 2, **{"labels": {f"k{n:03d}": f"v{n}" for n in range(80)}})
    rows = signed_in(cast.hni_responder).get(URL).context["sidebar_rows"]
    assert 0 < len(rows) <= 30


def test_parse_keeps_columns_and_sort_in_the_query_string() -> None:
    from django.http import QueryDict

    search = parse_search(QueryDict("q=a&cols=host.name,user.name&sort=user.name:desc"))
    assert search.columns == ["host.name", "user.name"] and search.sort == ("user.name", "desc")
    again = parse_search(search.params())
    assert again.columns == search.columns and again.sort == search.sort


def test_a_field_that_appears_after_the_field_list_was_read_can_be_sorted_and_shown(
        cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 2, host="old")
    client = signed_in(cast.hni_responder)
    assert "process.name" not in fields_of(client.get(URL))  # the field list is now read and shared for a while
    index_events("HNI", 1, host="new", process={"name": "sshd"})
    response = client.get(URL, {"sort": "process.name:asc", "cols": "process.name"})
    assert response.status_code == 200
    assert [e.host for e in response.context["page"].events] == ["new", "old", "old"]
    assert fields_of(response)["process.name"] == {"sshd": 1}


def test_sorting_by_a_field_only_another_province_has_tells_nothing(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 2, host="mine")
    index_events("HCM", 1, host="theirs", **{"hcmonly": "x"})
    client = signed_in(cast.hni_responder)
    absent = client.get(URL, {"sort": "nosuchfield:asc"})
    theirs = client.get(URL, {"sort": "hcmonly:asc"})
    assert absent.status_code == theirs.status_code == 200
    assert absent.context["page"].total == theirs.context["page"].total == 2


def test_fields_that_tell_events_apart_are_opened_first(cast: Cast, index_events: Indexer) -> None:
    seed(index_events)
    client = signed_in(cast.hni_responder)
    opened = {row.summary.name: row.opened for row in client.get(URL).context["sidebar_rows"]}
    assert opened["host.name"] and opened["user.name"] and opened["source.ip"]
    assert not opened["organization.id"] and not opened["event.dataset"]  # one value in every event
    filtered = client.get(URL, {"f": "event.dataset:test", "cols": "organization.id"}).context["sidebar_rows"]
    assert {row.summary.name for row in filtered if row.opened} >= {"event.dataset", "organization.id"}
