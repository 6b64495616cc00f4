"""Shared fixtures: the Sigma corpus (read in place, never copied) and a throwaway test index."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from detection.sigma import sigma_mappings

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
SIGMA_RULES = CORPUS / "sigma" / "rules"
ES_URL = "http://127.0.0.1:9200"


@pytest.fixture(scope="session")
def sigma_rules() -> Path:
    if not SIGMA_RULES.is_dir():
        pytest.skip(f"Sigma corpus not found at {SIGMA_RULES} (shared/ must sit beside the clone)")
    return SIGMA_RULES


@pytest.fixture(scope="session")
def corpus_rule(sigma_rules: Path) -> Callable[[str], str]:
    def read(relative: str) -> str:
        return (sigma_rules / relative).read_text(encoding="utf-8")
    return read


@pytest.fixture(scope="session")
def es() -> Any:
    elasticsearch = pytest.importorskip("elasticsearch")
    client = elasticsearch.Elasticsearch(ES_URL, request_timeout=10)
    try:
        client.cluster.health()  # GET / is not available on this build
    except Exception as exc:  # any transport error means "no cluster here"
        pytest.skip(f"Elasticsearch not reachable at {ES_URL}: {exc}")
    return client


@pytest.fixture
def event_index(es: Any) -> Iterator[Callable[[list[dict[str, Any]]], str]]:
    """Create ``test-sigma-<random>`` with our Sigma mapping, load events, delete it afterwards."""
    created: list[str] = []

    def load(events: list[dict[str, Any]]) -> str:
        name = f"test-sigma-{uuid.uuid4().hex[:12]}"
        from soc.es import EVENT_SETTINGS

        es.indices.create(index=name, mappings=sigma_mappings(), settings={**EVENT_SETTINGS, "number_of_replicas": 0})
        created.append(name)
        operations: list[dict[str, Any]] = []
        for event in events:
            operations += [{"index": {"_index": name}}, event]
        if operations:
            es.bulk(operations=operations, refresh="wait_for")
        return name

    yield load
    for name in created:
        es.indices.delete(index=name, ignore_unavailable=True)
