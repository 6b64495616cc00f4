"""An item as the agent writes it (``{"id": ..., "doc": {...}}``) is prepared with one serialisation
(``collectors.ingest._stored_as_sent``); any other item goes the normalising way. Both must store the same bytes,
give the same answer and keep the same dead letter for every document, hostile ones included; and the decoded
documents of a request are gone, with garbage collection back on, while it waits for Elasticsearch."""

from __future__ import annotations

import copy
import gc
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from collectors import ingest
from collectors.asgi import with_collector_endpoints
from soc import es
from tests.conftest import EnrolledCollector
from tests.hostile.fuzz import fuzz_settings
from tests.ingest.test_collector_asgi import Fallback, keep_the_tests_connection  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)
LONG_STAMP = (NOW - timedelta(seconds=1)).replace(tzinfo=None).isoformat(timespec="microseconds") + "1" * 3000
STAMPS = [NOW.isoformat(), (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
          (NOW - timedelta(days=40)).isoformat(),  # back-fill
          (NOW + timedelta(days=2)).isoformat(),  # in the future: refused
          LONG_STAMP, "yesterday", 1700000000, None]
NAMES = ["message", "event", "source", "organization", "agent", "soc", "ecs", "a", "a.b", "event.ingested",
         "organization.id", "ingested", "ip", "x.y.z", "@timestamp"]
LEAVES: st.SearchStrategy[Any] = st.one_of(st.sampled_from(["HCM", "10.0.0.1", 'q"uo\\te:', "x.y", "", 7, 1.5]),
                                           st.none(), st.booleans(), st.text(max_size=8))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(NAMES), inner, max_size=4), max_leaves=12)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = draw(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6))
    if draw(st.booleans()):
        doc["@timestamp"] = draw(st.sampled_from(STAMPS))
    if draw(st.booleans()):
        doc["event"] = draw(st.sampled_from([None, {}, {"dataset": "x"}, [], "x", {"ingested": "forged"}]))
    return doc


def both_ways(collector: EnrolledCollector, doc: dict[str, Any], offset: float) -> list[tuple[Any, Any]]:
    """For ``doc`` written as the agent writes its item and the other way round, in one batch: what the ingest would
    store (or its answer) and the dead letter it would keep if the index refused it, the two ids made the same."""
    items = [{"id": "e:1", "doc": copy.deepcopy(doc)}, {"doc": copy.deepcopy(doc), "id": "e:2"}]
    batch = ingest.batch_prepare(collector=collector.collector, payload={"events": items}, clock_offset=offset)
    out: list[tuple[Any, Any]] = []
    for pos in range(2):
        if pos in batch.prepared:
            prep = batch.prepared[pos]
            letter = json.loads(json.dumps(batch.original(pos)))
            out.append(((prep.action.replace(b"e:2", b"e:1"), prep.source), {**letter, "id": "e:1"}))
        else:
            result = batch.results[pos]
            out.append(((result.status, result.error), None))
    return out


@given(doc=documents(), offset=st.sampled_from([0.0, -600.0, 3600.0]))
@hsettings(fuzz_settings(short=400), suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
def test_a_document_is_stored_the_same_whichever_way_its_item_is_written(
        hni_collector: EnrolledCollector, doc: dict[str, Any], offset: float) -> None:
    as_the_agent_writes_it, the_other_way_round = both_ways(hni_collector, doc, offset)

    assert as_the_agent_writes_it == the_other_way_round


def deep(levels: int) -> Any:
    return 1 if levels == 0 else [deep(levels - 1)]


@pytest.mark.parametrize(("doc", "offset"), [
    ({"@timestamp": NOW.isoformat(), **{f"f{n}": n for n in range(999)}}, 0.0),
    ({"@timestamp": NOW.isoformat(), **{f"f{n}": n for n in range(1001)}}, 0.0),
    # Counted only because the 3,000-character time it sent is longer than the corrected one stored: refused.
    ({"@timestamp": LONG_STAMP, "v": '":' * 1001, "deep": deep(18)}, -600.0),
])
def test_a_crowded_document_is_counted_either_way(
        hni_collector: EnrolledCollector, doc: dict[str, Any], offset: float) -> None:
    as_the_agent_writes_it, the_other_way_round = both_ways(hni_collector, doc, offset)

    assert as_the_agent_writes_it == the_other_way_round


def post(body: bytes, collector: EnrolledCollector) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=with_collector_endpoints(Fallback()))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post("/api/v1/ingest/events", content=body, headers={
                "Authorization": f"Bearer {collector.secret}", "Content-Encoding": "gzip"})

    return async_to_sync(call)()


def test_no_decoded_document_is_held_while_elasticsearch_is_waited_for(
        hni_collector: EnrolledCollector, monkeypatch: pytest.MonkeyPatch) -> None:
    real, seen = es.async_client, []

    class Watching:
        async def bulk(self, **kwargs: Any) -> Any:
            seen.append((gc.isenabled(), sum(1 for o in gc.get_objects() if type(o) is dict and "probe-7f3a" in o)))
            return await real().bulk(**kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(real(), name)

    monkeypatch.setattr(es, "async_client", Watching)
    body = b",".join(b'{"id": "p:%d", "doc": {"@timestamp": "%s", "probe-7f3a": {"n": %d}}}' % (
        n, NOW.isoformat().encode(), n) for n in range(50))

    resp = post(gzip.compress(b'{"events": [' + body + b"]}"), hni_collector)

    assert [r["status"] for r in resp.json()["results"]] == ["created"] * 50
    assert seen == [(True, 0)]


@pytest.mark.parametrize("body", [b"not json", json.dumps({"events": [{"id": "a"}, {"id": "a"}]}).encode()])
def test_garbage_collection_is_back_on_after_a_request_that_fails(
        hni_collector: EnrolledCollector, body: bytes) -> None:
    resp = post(gzip.compress(body), hni_collector)

    assert resp.status_code == 400 and gc.isenabled()
