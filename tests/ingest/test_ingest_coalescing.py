"""A worker's concurrent batches share their bulks (collectors.ingest._Coalescer): fewer round trips to
Elasticsearch, and every request still gets exactly its own items' answers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from collectors import ingest
from soc import es
from tests.conftest import EnrolledCollector

pytestmark = pytest.mark.django_db


class CountingBulks:
    """The loop's real client, with its bulk requests counted (and failed, when asked)."""

    def __init__(self) -> None:
        self.bulks: list[int] = []
        self.fail = False
        self.real_client = es.async_client

    def __call__(self) -> Any:
        real = self.real_client()
        counter = self

        class Client:
            async def bulk(self, *, operations: bytes, **kwargs: Any) -> Any:
                counter.bulks.append(operations.count(b"\n") // 2)
                if counter.fail:
                    raise ConnectionError("Elasticsearch unreachable")
                return await real.bulk(operations=operations, **kwargs)  # type: ignore[arg-type]  # sent as is

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        return Client()


def batch(prefix: str, n: int) -> dict[str, Any]:
    return {"events": [{"id": f"{prefix}{k}", "doc": {"@timestamp": timezone.now().isoformat(), "message": prefix}}
                       for k in range(n)]}


async def together(*calls: Any) -> list[Any]:
    return await asyncio.gather(*calls)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountingBulks:
    counting = CountingBulks()
    monkeypatch.setattr(es, "async_client", counting)
    return counting


def test_concurrent_batches_share_bulks_and_get_their_own_answers(
        counted: CountingBulks, hni_collector: EnrolledCollector, hcm_collector: EnrolledCollector) -> None:
    calls = [ingest.aingest_batch(collector=c.collector, payload=batch(f"{n}-", 3))
             for n, c in enumerate([hni_collector, hcm_collector, hni_collector, hcm_collector])]

    answers = async_to_sync(together)(*calls)

    assert [[r.id for r in a] for a in answers] == [[f"{n}-{k}" for k in range(3)] for n in range(4)]
    assert all(r.status == "created" for a in answers for r in a)
    assert len(counted.bulks) < 4 and sum(counted.bulks) == 12


def test_a_failed_shared_bulk_answers_retry_to_every_request(
        counted: CountingBulks, hni_collector: EnrolledCollector, monkeypatch: pytest.MonkeyPatch) -> None:
    counted.fail = True
    monkeypatch.setattr(ingest, "_backoff", lambda attempt: 0.0)

    answers = async_to_sync(together)(*(ingest.aingest_batch(collector=hni_collector.collector,
                                                             payload=batch(f"f{n}-", 2)) for n in range(3)))

    assert [r.status for a in answers for r in a] == ["retry"] * 6
