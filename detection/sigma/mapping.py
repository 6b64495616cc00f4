"""What the event index mapping must provide for Sigma queries to mean what Sigma means.

Sigma string matching is case-insensitive, and our queries are Lucene ``query_string`` with
wildcards. Both hold on ``keyword`` fields normalised with the built-in ``lowercase`` normalizer
(Elasticsearch lowercases the query's wildcard pattern for such fields too). Lowercasing the
fields themselves would lowercase aggregation keys too (``organization.id`` and threshold group
keys must stay exact), so the platform's one event template (``soc.es.EVENT_MAPPINGS``) keeps each
string as an exact keyword with a lowercase ``.lc`` sub-field, and the Sigma pipeline searches
that sub-field. This module hands that same template to code that builds its own indices (tests,
regression runs), so no second mapping can drift from production.
"""

from __future__ import annotations

import copy
from typing import Any


def sigma_mappings() -> dict[str, Any]:
    """``mappings`` for an index of our ECS events that Sigma rules search: the production template."""
    from soc.es import EVENT_MAPPINGS  # needs Django settings; imported when asked for

    return copy.deepcopy(EVENT_MAPPINGS)


def field_types() -> dict[str, str]:
    """ECS field -> its type in the event template, for the explicitly typed fields (ip, long, date...).

    Every other field is a keyword (with its ``.lc`` sub-field) through the dynamic template.
    """
    return _typed(sigma_mappings()["properties"])


def _typed(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for name, spec in properties.items():
        if "properties" in spec:
            found |= _typed(spec["properties"], f"{prefix}{name}.")
        elif "type" in spec:
            found[f"{prefix}{name}"] = spec["type"]
    return found
