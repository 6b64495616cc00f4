"""Helpers for engine tests: events indexed through the real template, rules saved through the service."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from detection.authoring import rule_create
from detection.models import DetectionRule
from organisations.actors import Actor
from soc import es as soc_es

_ids = itertools.count()
Index = Callable[..., list[str]]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def ago(seconds: float) -> datetime:
    return now() - timedelta(seconds=seconds)


def event(moment: datetime, org: str = "HNI", **fields: Any) -> dict[str, Any]:
    """An ECS document; dotted keyword arguments become nested fields (source__ip -> source.ip)."""
    doc: dict[str, Any] = {"@timestamp": moment.isoformat(), "organization": {"id": org},
                           # Stored a few seconds ago: past the rules' ingest delay, so a run now reads it.
                           "event": {"ingested": ago(5).isoformat()}}
    for dotted, value in fields.items():
        node = doc
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


@pytest.fixture
def index(es: Elasticsearch) -> Index:
    """Index documents into their daily event index (the production template), refreshed; returns refs."""
    def load(*docs: dict[str, Any]) -> list[str]:
        ops: list[dict[str, Any]] = []
        refs = []
        for doc in docs:
            moment = datetime.fromisoformat(doc["@timestamp"])
            name, doc_id = soc_es.index_name("events", moment), f"t{next(_ids)}"
            ops += [{"create": {"_index": name, "_id": doc_id}}, doc]
            refs.append(f"{name}/{doc_id}")
        resp = es.bulk(operations=ops, refresh=True)
        assert not resp["errors"], resp
        return refs
    return load


def make_rule(**data: Any) -> DetectionRule:
    data.setdefault("interval_seconds", 5)
    return rule_create(actor=Actor.system(), data=data)


@pytest.fixture
def orgs(db: None) -> None:
    """The organisation tree without the user cast: engine tests need provinces, not logins."""
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
