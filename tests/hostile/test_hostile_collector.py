"""A hostile collector of one province: no spelling of a server-owned field reaches what is stored, nothing it
sends changes another province's view, and no date it writes creates more than a bounded set of indices.

Every ingest path ends in the same endpoint: the agent's file, syslog, EVTX and journald inputs send edge-parsed
``doc`` items, and ``raw`` items are parsed here (text lines, and JSON lines such as Suricata's eve records).
The property tests write each generated document as JSON text, repeated keys included, exactly as a sender
would, and read what would be stored the way Elasticsearch reads it (dotted keys as paths, arrays flattened).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from collectors import ingest
from collectors.agent import jsonfast
from collectors.agent.parsers.base import DEFAULT_TZ
from collectors.boundary import ShapeError, normalised
from detection.services import rules_run
from incidents.models import Incident
from readiness.es_measures import event_measures
from readiness.windows import window_for
from soc import es as soc_es
from tests.conftest import Cast, EnrolledCollector
from tests.hostile.fuzz import fuzz_settings

URL = "/api/v1/ingest/events"
OWNED_ROOTS = ("organization", "agent", "soc")
# Every server-owned field, and names the server never writes inside its objects.
OWNED_PATHS = ["organization.id", "organization.name", "agent.id", "agent.name", "agent.type", "agent.version",
               "event.ingested", "soc.clock_offset_seconds", "soc.backfill", "soc.province"]
HOSTILE_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    ["HCM", "hcm", "forged", "2001-01-01T00:00:00Z", 7200, True, None, ["HCM"], {}])

pytestmark = pytest.mark.django_db


def fuzz(short: int, volume: int, shrink: bool = True) -> Any:
    """The suite's fuzz settings; the fixtures here (a collector, the cast) hold across examples on purpose.
    Without ``shrink`` a failure is reported as found: shrinking examples that go through the services is slow."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if shrink else [])]
    return hsettings(fuzz_settings(short, volume), phases=phases, suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


def send(client: Client, collector: EnrolledCollector, body: str) -> Any:
    """POST a batch written as JSON text (as a sender writes it: repeated keys survive) with the credential."""
    headers: dict[str, Any] = collector.auth
    return client.post(URL, data=body.encode(), content_type="application/json", **headers)


class Obj(list[tuple[str, Any]]):
    """A JSON object written as key/value pairs: the same key may appear twice, as a sender may write it."""


def emit(value: Any) -> str:
    if isinstance(value, Obj):
        return "{" + ",".join(f"{json.dumps(k)}:{emit(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(emit(v) for v in value) + "]"
    return json.dumps(value)


@st.composite
def spelling(draw: st.DrawFn, path: str) -> tuple[str, Any]:
    """One way of writing ``path = <hostile value>``: parts grouped into dotted keys, levels in arrays."""
    parts = path.split(".")
    cuts = sorted(draw(st.sets(st.integers(1, len(parts) - 1))) if len(parts) > 1 else set())
    groups = [".".join(parts[a:b]) for a, b in zip([0, *cuts], [*cuts, len(parts)], strict=True)]
    value: Any = draw(HOSTILE_VALUES)
    for key in reversed(groups[1:]):
        value = Obj([(key, value)])
        if draw(st.booleans()):
            value = [value]
    return groups[0], value


@st.composite
def hostile_doc(draw: st.DrawFn, stamp: str) -> Obj:
    pairs = [draw(spelling(path)) for path in draw(st.lists(st.sampled_from(OWNED_PATHS), min_size=1, max_size=6))]
    if draw(st.booleans()):  # an empty object beside the dotted keys, as in the report that opened this
        pairs.insert(draw(st.integers(0, len(pairs))), (draw(st.sampled_from(OWNED_ROOTS)), Obj()))
    pairs += [("@timestamp", stamp), ("message", "hostile"), ("source", Obj([("ip", "203.0.113.9")]))]
    return Obj(draw(st.permutations(pairs)))


def es_paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(field, value) pairs as Elasticsearch indexes them: dotted keys are paths, arrays are flattened."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from es_paths(inner, prefix + tuple(key.split(".")))
    elif isinstance(value, list):
        for inner in value:
            yield from es_paths(inner, prefix)
    else:
        yield ".".join(prefix), value


def owned(path: str) -> bool:
    return path == "event.ingested" or any(path == root or path.startswith(f"{root}.") for root in OWNED_ROOTS)


def stored_as(collector: EnrolledCollector, body: str) -> tuple[dict[str, Any] | None, str]:
    """What the ingest would store for one item written as ``body`` (JSON text), or why it refused it."""
    item = jsonfast.loads(f'{{"id": "h:1", "doc": {body}}}'.encode())
    batch = ingest._Batch.of(collector.collector, datetime.now(UTC), 0.0)
    prepared = ingest._prepare(batch, item)
    if isinstance(prepared, ingest.ItemResult):
        return None, prepared.error
    return jsonfast.loads(prepared.source), ""


def assert_only_the_server_wrote_owned_fields(doc: dict[str, Any], collector: EnrolledCollector) -> None:
    col = collector.collector
    expected = {"organization.id": col.organisation.code, "organization.name": col.organisation.name,
                "agent.id": str(col.uid), "agent.name": col.name, "agent.type": "soc-collector"}
    fields = [(path, value) for path, value in es_paths(doc) if owned(path)]
    for path, value in fields:
        if path == "event.ingested":
            assert value == doc["event"]["ingested"] and value.startswith(str(datetime.now(UTC).year)), doc
        else:
            assert path in expected and value == expected[path], (path, value, doc)
    assert sorted(p for p, _ in fields if p != "event.ingested") == sorted(expected)
    assert sum(1 for p, _ in fields if p == "event.ingested") == 1


@given(data=st.data())
@fuzz(short=300, volume=20_000)
def test_no_spelling_of_a_server_owned_field_reaches_the_stored_document(
        hni_collector: EnrolledCollector, data: st.DataObject) -> None:
    stamp = datetime.now(UTC).isoformat()
    doc, refusal = stored_as(hni_collector, emit(data.draw(hostile_doc(stamp))))

    if doc is None:  # refused outright (an ambiguous spelling): nothing of it is stored
        assert refusal
        return
    assert_only_the_server_wrote_owned_fields(doc, hni_collector)


@pytest.mark.parametrize("body", [
    '{"organization": {}, "organization.id": "HCM"}',
    '{"organization.id": "HCM", "organization": {"name": "x"}}',
    '{"organization": {"id": "HCM"}, "organization": {"id": "HCM"}}',
    '{"organization": [{"id": "HCM"}, {"id": "DNG"}]}',
    '{"agent.id": "forged", "agent": [{"name": "x"}]}',
    '{"event": {"dataset": "x"}, "event.ingested": "2001-01-01T00:00:00Z"}',
    '{"event": [{"ingested": "2001-01-01T00:00:00Z"}]}',
    '{"soc": [{"clock_offset_seconds": 3600}], "soc.backfill": false}',
    '{"x": {"y": 1}, "organization.id": {"": "HCM"}}',
])
def test_the_spellings_from_the_report_never_reach_a_server_owned_field(
        hni_collector: EnrolledCollector, body: str) -> None:
    doc, refusal = stored_as(hni_collector, body[:-1] + f', "@timestamp": "{datetime.now(UTC).isoformat()}"}}')

    if doc is not None:
        assert_only_the_server_wrote_owned_fields(doc, hni_collector)
    else:
        assert refusal


def nest(levels: int) -> Any:
    return 1 if levels == 0 else {"d": nest(levels - 1)}


@pytest.mark.parametrize(("doc", "reason"), [
    ({"a": 1, "a.b": 2}, "both a value and an object"),
    ({"a": {"b": 1}, "a.b": 2}, "given twice"),
    ({"a..b": 1}, "empty part"),
    ({"a.": 1}, "empty part"),
    ({f"f{n}": n for n in range(1001)}, "more than 1000 fields"),
    ({"a.b": 1, "l": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}, "deeper than 16"),  # a rewritten document
    ({"d.d": nest(15)}, "deeper than 16"),
])
def test_an_ambiguous_or_oversized_document_is_refused_with_the_reason(doc: dict[str, Any], reason: str) -> None:
    with pytest.raises(ShapeError, match=reason):
        normalised(doc, max_fields=1000, max_depth=16)


def test_a_document_without_dotted_keys_is_returned_as_it_is() -> None:
    doc = {"a": {"b": [{"c": 1}], "note": "x.y"}, "list": [1, 2]}

    assert normalised(doc, max_fields=100, max_depth=16) is doc


def test_a_deep_document_the_ingest_does_not_rewrite_is_refused_by_the_index_with_the_reason(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    events = [{"id": "deep:1", "doc": {"@timestamp": datetime.now(UTC).isoformat(), **nest(25)}}]
    [result] = send(client, hni_collector, json.dumps({"events": events})).json()["results"]

    assert result["status"] == "rejected" and "depth" in result["error"]


def test_dotted_keys_at_any_depth_and_inside_arrays_become_objects() -> None:
    doc = {"a.b": 1, "a": {"c.d": 2}, "list": [{"x.y": 3}], "plain": {"k": "v"}}

    assert normalised(doc, max_fields=100, max_depth=16) == {
        "a": {"b": 1, "c": {"d": 2}}, "list": [{"x": {"y": 3}}], "plain": {"k": "v"}}


# --- Through the endpoint, on the real services: another province's view is unchanged -------------------------


@dataclass
class View:
    """What province B's people and machinery see: event search, incidents, alerts and readiness measures."""

    events: list[str]
    incidents: list[tuple[str, str, str]]
    alerts: list[str]
    measures: dict[str, Any]


def view_of(es: Elasticsearch, cast: Cast) -> View:
    es.indices.refresh(index=f"{settings.ES_INDEX_PREFIX}*", allow_no_indices=True, ignore_unavailable=True)
    found = soc_es.scoped_search(user=cast.hcm_responder, query={"match_all": {}}, size=1000)
    alerts = es.search(index=soc_es.index_pattern("alerts"), size=1000, ignore_unavailable=True,
                       allow_no_indices=True, query={"term": {"organization.id": "HCM"}})
    measures = event_measures(provinces={"HCM": ["HCM"]}, window=window_for(datetime.now(UTC).date()))["HCM"]
    return View(events=sorted(hit["_id"] for hit in found["hits"]["hits"]),
                incidents=sorted((i.key, i.title, str(i.updated_at)) for i in Incident.objects.filter(
                    province__code="HCM")),
                alerts=sorted(hit["_id"] for hit in alerts["hits"]["hits"]),
                measures=dict(vars(measures)))


def hni_events(cast: Cast) -> int:
    found = soc_es.scoped_search(user=cast.lead, query={"term": {"organization.id": "HNI"}}, size=0,
                                 track_total_hits=True)
    return int(found["hits"]["total"]["value"])


def hostile_items(data: st.DataObject, count: int) -> list[str]:
    """``count`` items, each as JSON text: edge documents and raw lines (text and JSON) in hostile spellings."""
    now = datetime.now(UTC)
    items = []
    for n in range(count):
        body = emit(data.draw(hostile_doc(now.isoformat())))
        kind = n % 3
        if kind == 0:
            items.append(f'{{"id": "d:{n}", "doc": {body}}}')
        elif kind == 1:  # a Suricata eve line carrying the same keys: the record is kept under suricata.eve
            eve = body[:-1] + f', "event_type": "alert", "timestamp": "{now.isoformat()}", "src_ip": "203.0.113.9"}}'
            items.append(json.dumps({"id": f"r:{n}", "raw": eve}))
        else:  # a text line whose message is such a document
            # A syslog stamp has no zone: the collector's host writes its local time, which the parser assumes.
            local = now.astimezone(ZoneInfo(DEFAULT_TZ))
            items.append(json.dumps({"id": f"t:{n}", "raw": f"<38>{local:%b %d %H:%M:%S} hni-web-01 app: {body}"}))
    return items


@given(data=st.data())
@fuzz(short=4, volume=50, shrink=False)
def test_a_hostile_collector_of_one_province_changes_nothing_another_province_sees(
        client: Client, es: Elasticsearch, cast: Cast, hni_collector: EnrolledCollector,
        hcm_collector: EnrolledCollector, data: st.DataObject) -> None:
    items = hostile_items(data, 30)  # drawn first: what follows depends on the services' state
    from tests.detection_engine.conftest import make_rule
    rule = make_rule(name=f"by province {uuid.uuid4()}", kind="threshold", params={  # a rule per example
        "query": "source.ip:203.0.113.9", "group_by": ["organization.id"], "count": 1, "window_seconds": 600})
    ok = send(client, hcm_collector, json.dumps({"events": [{"id": f"b:{uuid.uuid4()}", "doc": {
        "@timestamp": datetime.now(UTC).isoformat(), "message": "HCM's own"}}]}))
    assert ok.json()["results"][0]["status"] == "created"
    before, hni_before = view_of(es, cast), hni_events(cast)
    indices_before = set(es.indices.get(index=f"{settings.ES_INDEX_PREFIX}*", allow_no_indices=True))

    body = '{"events": [' + ",".join(items) + "]}"
    resp = send(client, hni_collector, body)
    assert resp.status_code == 200, resp.content
    rules_run(rule_ids=[rule.pk], now=datetime.now(UTC) + timedelta(seconds=30))  # past the ingest delay

    assert view_of(es, cast) == before
    created = set(es.indices.get(index=f"{settings.ES_INDEX_PREFIX}*", allow_no_indices=True)) - indices_before
    now = datetime.now(UTC)  # every index made is named by our clock (today's or this month's), none by a date sent
    assert all(name.endswith((f"-{now:%Y.%m.%d}", f"-{now:%Y.%m}")) for name in created), created
    statuses = [r["status"] for r in resp.json()["results"]]
    assert hni_events(cast) == hni_before + statuses.count("created")  # all of it stored in its own province
    Incident.objects.filter(province__code="HNI").delete()


def test_a_spoofed_province_opens_no_incident_in_the_other_province(
        client: Client, es: Elasticsearch, cast: Cast, hni_collector: EnrolledCollector) -> None:
    from tests.detection_engine.conftest import make_rule
    rule = make_rule(name="by province", kind="threshold", params={
        "query": "source.ip:203.0.113.9", "group_by": ["organization.id"], "count": 1, "window_seconds": 600})
    doc = '{"organization": {}, "organization.id": "HCM", "message": "x", "source": {"ip": "203.0.113.9"}, ' \
          f'"@timestamp": "{datetime.now(UTC).isoformat()}"}}'
    resp = send(client, hni_collector, f'{{"events": [{{"id": "x:1", "doc": {doc}}}]}}')
    assert resp.json()["results"] == [{"id": "x:1", "status": "created"}]
    es.indices.refresh(index=soc_es.events_pattern())

    assert soc_es.scoped_search(user=cast.hcm_responder, query={"match_all": {}}, size=0,
                                track_total_hits=True)["hits"]["total"]["value"] == 0
    rules_run(rule_ids=[rule.pk], now=datetime.now(UTC) + timedelta(seconds=30))  # past the ingest delay
    assert not Incident.objects.filter(province__code="HCM").exists()
    assert Incident.objects.filter(province__code="HNI").exists()


# --- Time bounds: the dates a sender writes choose a bounded set of indices ------------------------------------


def post_docs(client: Client, collector: EnrolledCollector, stamps: list[str]) -> list[dict[str, str]]:
    events = [{"id": f"s:{n}", "doc": {"@timestamp": stamp, "message": "m"}} for n, stamp in enumerate(stamps)]
    resp = send(client, collector, json.dumps({"events": events}))
    assert resp.status_code == 200, resp.content
    return list(resp.json()["results"])


def event_indices(es: Elasticsearch) -> set[str]:
    return set(es.indices.get(index=soc_es.events_pattern(), allow_no_indices=True))


def test_an_event_dated_in_the_future_is_refused_with_the_reason_and_kept(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    now = datetime.now(UTC)
    results = post_docs(client, hni_collector, ["2041-03-04T00:00:00Z", (now + timedelta(minutes=5)).isoformat()])

    assert results[0]["status"] == "rejected" and "ahead of the central clock" in results[0]["error"]
    assert results[1]["status"] == "created"  # within the tolerance
    assert not any("2041" in name for name in event_indices(es))
    es.indices.refresh(index=soc_es.index_pattern("deadletter"))
    letters = es.search(index=soc_es.index_pattern("deadletter"))["hits"]["hits"]
    assert [hit["_id"].split(":", 1)[1] for hit in letters] == ["s:0"]


def test_a_thousand_distinct_old_days_create_one_backfill_index_and_stay_searchable(
        client: Client, es: Elasticsearch, cast: Cast, hni_collector: EnrolledCollector) -> None:
    now = datetime.now(UTC)
    stamps = [(now - timedelta(days=10 + n)).isoformat() for n in range(1000)]
    results = post_docs(client, hni_collector, stamps)

    assert {r["status"] for r in results} == {"created"}
    assert event_indices(es) == {soc_es.backfill_index_name(now.year, now.month)}
    es.indices.refresh(index=soc_es.events_pattern())
    old = soc_es.scoped_search(user=cast.hni_responder, size=1, track_total_hits=True, query={"range": {
        "@timestamp": {"lte": (now - timedelta(days=500)).isoformat()}}})
    assert old["hits"]["total"]["value"] == 510  # days 500..1009 back
    assert old["hits"]["hits"][0]["_source"]["soc"] == {"backfill": True}


def test_live_days_keep_their_daily_index(client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    now = datetime.now(UTC)
    results = post_docs(client, hni_collector, [now.isoformat(), (now - timedelta(days=1)).isoformat()])

    assert {r["status"] for r in results} == {"created"}
    assert event_indices(es) == {soc_es.index_name("events", now), soc_es.index_name("events", now - timedelta(days=1))}


def test_retention_deletes_a_backfill_index_by_the_month_it_arrived_in(es: Elasticsearch, db: None) -> None:
    from collectors.services import event_indices_delete_expired
    old, recent = soc_es.backfill_index_name(2025, 1), soc_es.backfill_index_name(2026, 11)
    for name in (old, recent):
        es.indices.create(index=name)

    deleted = event_indices_delete_expired(now=datetime(2026, 12, 4, tzinfo=UTC), days=180)

    assert deleted == [old]
    assert soc_es.index_day(recent) == datetime(2026, 11, 30).date()


def test_a_sender_cannot_add_fields_to_the_server_owned_objects_even_past_the_ingest(es: Elasticsearch) -> None:
    """Defence in depth: the template maps the server-owned objects strictly."""
    now = datetime.now(UTC)
    resp = es.options(ignore_status=400).index(index=soc_es.index_name("events", now), document={
        "@timestamp": now.isoformat(), "organization": {"id": "HNI", "extra": "x"}})

    assert resp.meta.status == 400 and "strict_dynamic_mapping_exception" in str(resp)


def test_a_collector_flooding_new_field_names_gets_its_events_refused_and_the_rest_stored(
        client: Client, es: Elasticsearch, hni_collector: EnrolledCollector) -> None:
    now = datetime.now(UTC).isoformat()
    flood = {"@timestamp": now, **{f"f{n}": "x" for n in range(10_000)}}
    resp = send(client, hni_collector, json.dumps({"events": [{"id": "flood:1", "doc": flood},
                                                             {"id": "ok:1", "doc": {"@timestamp": now, "m": "x"}}]}))

    results = {r["id"]: r for r in resp.json()["results"]}
    assert results["flood:1"]["status"] == "rejected" and "more than 1000 fields" in results["flood:1"]["error"]
    assert results["ok:1"]["status"] == "created"
