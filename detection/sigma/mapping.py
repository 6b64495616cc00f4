"""What the event index mapping must provide for Sigma queries to mean what Sigma means.

Sigma string matching is case-insensitive, and our queries are Lucene ``query_string`` with
wildcards. Both hold only on ``keyword`` fields normalised with the built-in ``lowercase``
normalizer (Elasticsearch lowercases the query's wildcard pattern for such fields too). The
index template owner should merge these dynamic templates; our tests create indices with them.

Consequences worth knowing: terms aggregations on these fields return lowercased keys (the
``_source`` keeps the original), and ``|re`` rules are matched against the lowercased value.
``message`` stays searchable as full text through its ``message.text`` subfield.
"""

from __future__ import annotations

from typing import Any

SIGMA_KEYWORD: dict[str, Any] = {"type": "keyword", "normalizer": "lowercase", "ignore_above": 8191}


def sigma_mappings() -> dict[str, Any]:
    """``mappings`` for an index (or index template) of our ECS events that Sigma rules search."""
    return {
        "dynamic_templates": [
            {"strings_as_caseless_keywords": {"match_mapping_type": "string", "mapping": SIGMA_KEYWORD}},
        ],
        "properties": {
            "@timestamp": {"type": "date"},
            "message": {**SIGMA_KEYWORD, "fields": {"text": {"type": "text"}}},
            "event": {"properties": {"original": {"type": "keyword", "index": False, "doc_values": False}}},
            "source": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}}},
            "destination": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}}},
            "http": {"properties": {"response": {"properties": {"status_code": {"type": "long"}}}}},
        },
    }
