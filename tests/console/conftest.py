"""Events written straight into this run's Elasticsearch indices, as ingest would store them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from soc import es as soc_es

Indexer = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def index_events(es: Elasticsearch) -> Indexer:
    def write(org: str, count: int = 1, *, message: str = "event", host: str = "web-01",
              minutes_ago: float = 5, step_seconds: float = 1, **extra: Any) -> list[dict[str, Any]]:
        start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        operations: list[dict[str, Any]] = []
        docs = []
        for n in range(count):
            ts = start - timedelta(seconds=n * step_seconds)
            doc = {"@timestamp": ts.isoformat().replace("+00:00", "Z"), "message": f"{message} {n}",
                   "host": {"name": host}, "organization": {"id": org, "name": org},
                   "event": {"dataset": "test", "action": "probe"}, **extra}
            operations += [{"create": {"_index": soc_es.index_name("events", ts)}}, doc]
            docs.append(doc)
        result = es.bulk(operations=operations, refresh=True)
        assert not result["errors"], result
        return docs

    return write

