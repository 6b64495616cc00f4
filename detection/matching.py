"""Single-event rules: a Sigma query or threat-intelligence indicators, one finding per event.

Each rule becomes plain search bodies, so the caller can batch many rules into one
``_msearch`` per cycle; ``findings_from_hits`` turns any of the answers into findings.
Alert ids derive from the event's own index and id: a re-read event is the same alert.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from detection.engine import ORG, Finding, Query, Window, parse_time
from soc.es import caseless_field

ENTITY_FIELDS = ("source.ip", "host.name", "user.name", "destination.ip", "url.domain")

# ECS fields each indicator type is looked for in. IPs are exact ip fields; the rest are
# compared lowercased on the caseless sub-fields (domains, URLs and hex hashes have no case).
INDICATOR_FIELDS: dict[str, tuple[str, ...]] = {
    "ip": ("source.ip", "destination.ip", "client.ip", "server.ip", "host.ip"),
    "domain": ("url.domain", "destination.domain", "server.domain", "dns.question.name"),
    "url": ("url.original", "url.full"),
    "hash": ("file.hash.md5", "file.hash.sha1", "file.hash.sha256", "process.hash.md5",
             "process.hash.sha1", "process.hash.sha256", "hash.md5", "hash.sha1", "hash.sha256"),
}
CHUNK = 5000  # terms per query: well under index.max_terms_count (65,536)


@dataclass(frozen=True)
class SearchPlan:
    """One search of a rule's run: a body for ``_msearch`` and how to read its hits."""

    body: dict[str, Any]
    indicators: dict[str, set[str]] | None = None  # indicator type -> values, for indicator plans


def event_search_body(query: Query, window: Window, size: int, timeout: str = "10s") -> dict[str, Any]:
    return {
        "query": window.query(query), "size": size, "timeout": timeout, "_source": False,
        "sort": [{window.time_field: "asc"}, {"_doc": "asc"}], "track_total_hits": True,
        "fields": [{"field": window.time_field, "format": "strict_date_optional_time"}, ORG, *ENTITY_FIELDS,
                   *{f for fields in INDICATOR_FIELDS.values() for f in fields}],
    }


def sigma_plans(compiled: dict[str, Any], window: Window, size: int, timeout: str = "10s") -> list[SearchPlan]:
    return [SearchPlan(event_search_body(compiled["query"], window, size, timeout))]


def indicator_plans(indicators: dict[str, list[str]], window: Window, size: int,
                    timeout: str = "10s") -> list[SearchPlan]:
    """Terms queries over each type's fields, ``CHUNK`` values at a time."""
    plans = []
    for kind, values in sorted(indicators.items()):
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            should = [{"terms": {_indicator_field(kind, f): chunk}} for f in INDICATOR_FIELDS[kind]]
            query = {"bool": {"should": should, "minimum_should_match": 1}}
            plans.append(SearchPlan(event_search_body(query, window, size, timeout), {kind: set(chunk)}))
    return plans


def _indicator_field(kind: str, field: str) -> str:
    return field if kind == "ip" else caseless_field(field)


def findings_from_hits(plan: SearchPlan, response: dict[str, Any], time_field: str) -> list[Finding]:
    findings = []
    for hit in response["hits"]["hits"]:
        fields = hit.get("fields", {})
        if not fields.get(ORG) or not fields.get(time_field):
            continue
        moment, ref = parse_time(fields[time_field][0]), f"{hit['_index']}/{hit['_id']}"
        group = {ORG: str(fields[ORG][0])} | {f: str(fields[f][0]) for f in ENTITY_FIELDS if fields.get(f)}
        details = {"indicators": _matched(plan.indicators, fields)} if plan.indicators else {}
        findings.append(Finding(group=group, first=moment, last=moment, count=1, event_refs=[ref], key=ref,
                                details=details))
    return findings


def _matched(indicators: dict[str, set[str]], fields: dict[str, list[Any]]) -> list[str]:
    found = []
    for kind, values in indicators.items():
        for field in INDICATOR_FIELDS[kind]:
            found += [f"{kind}:{v}" for v in fields.get(field, []) if _hit(kind, str(v), values)]
    return sorted(set(found))


def _hit(kind: str, value: str, indicators: Iterable[str]) -> bool:
    if kind != "ip":
        return value.lower() in indicators
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(i, strict=False) for i in indicators)


def presence_body(source: Query, window: Window, timeout: str = "10s") -> dict[str, Any]:
    """Whether any event of ``window`` carries ``source``: stops at the first one on each shard."""
    return {"query": window.query(source), "size": 0, "terminate_after": 1, "track_total_hits": 1,
            "timeout": timeout}


def nothing_found(response: dict[str, Any]) -> bool:
    """A whole answer (no error, not cut short, every shard) with no hit."""
    shards = response.get("_shards", {})
    return ("error" not in response and not response.get("timed_out") and not shards.get("failed")
            and "hits" in response and total_hits(response) == 0)


def total_hits(response: dict[str, Any]) -> int:
    total = response["hits"].get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)
