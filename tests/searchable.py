"""Counting what Elasticsearch holds while the platform under test is still writing to it."""

from __future__ import annotations

import time
from typing import Any

from elasticsearch import ApiError, Elasticsearch


def searchable_count(es: Elasticsearch, index: str, query: dict[str, Any] | None = None) -> int:
    """Documents of ``index`` searchable now.

    A daily index that the platform created a moment ago answers 503 until its shard has started: it is
    asked again then, never read as a number (a fast agent makes that window easy to hit).
    """
    for _ in range(100):
        try:
            es.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
            return int(es.count(index=index, allow_no_indices=True, ignore_unavailable=True,
                                query=query or {"match_all": {}})["count"])
        except ApiError as exc:
            if exc.meta.status != 503:
                raise
            time.sleep(0.1)
    raise AssertionError(f"{index} never became searchable")
