"""Event measures of provinces for one day, read from Elasticsearch in one ``_msearch``.

Four searches per province, each scoped by ``organization.id`` through
``soc.es.scope_filter`` (the province and the sites below it):

1. aggregations over the day and the look-back week (datasets, checklist
   kinds with their required fields, hours with events per collector, last
   event per collector and dataset, gap reports of the collectors);
2. a bounded random sample of the day's events with ``@timestamp`` and
   ``event.ingested`` doc values: this build has no scripting, so the lag
   (ingested - event time) cannot be aggregated in Elasticsearch; its
   percentiles and the clock-skew share are computed from the sample here;
3. the day's dead letters (the ingest rejected them before they became events);
4. the day's resends of events already stored, as the ingest counted them
   (``ingest`` indices, ``collectors.ingest.DUPLICATE_ACTION``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from collectors.ingest import DUPLICATE_ACTION
from readiness.sources import GAP_ACTION, GAP_DATASET, GENERIC_DATASET, SOURCE_KINDS, complete_query, kind_query
from readiness.windows import Window
from soc import es

SAMPLE_SIZE = 1000
# An event time this far after its ingest time can only come from a clock running ahead.
FUTURE_TOLERANCE_S = 60.0
MAX_COLLECTORS = 500
# What the datasets aggregation buckets as "generic": the fallback parser's dataset, or none at all.
GENERIC_QUERY = {"bool": {"should": [{"term": {"event.dataset": GENERIC_DATASET}},
                                     {"bool": {"must_not": {"exists": {"field": "event.dataset"}}}}],
                          "minimum_should_match": 1}}


@dataclass
class EventMeasures:
    events: int = 0
    generic: int = 0
    parser_errors: int = 0
    deadletters: int = 0
    kinds: dict[str, dict[str, int]] = field(default_factory=dict)
    online_hours: dict[str, int] = field(default_factory=dict)
    # agent id -> {"events": n, "generic": n} on the day
    agent_events: dict[str, dict[str, int]] = field(default_factory=dict)
    # agent id -> dataset -> {"last": iso time, "day": events on the day}
    sources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    gaps_reported: int = 0
    events_dropped: int = 0
    duplicates: int = 0  # events resent although already stored (refused as duplicates)
    sample_size: int = 0
    lag_p50_s: float | None = None
    lag_p95_s: float | None = None
    future_share: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def event_measures(*, provinces: dict[str, list[str]], window: Window) -> dict[str, EventMeasures]:
    """Measures for each province (code -> organisation codes of its subtree), in one round trip."""
    searches: list[dict[str, Any]] = []
    for codes in provinces.values():
        searches += _province_searches(codes, window)
    if not searches:
        return {}
    responses = es.client().msearch(searches=searches)["responses"]
    result: dict[str, EventMeasures] = {}
    per = len(searches) // (2 * len(provinces))  # (header, body) pairs: four searches per province
    for pos, code in enumerate(provinces):
        answers = responses[per * pos: per * pos + per]
        for response in answers:
            if "error" in response:
                raise RuntimeError(f"readiness search for {code} failed: {response['error']}")
        result[code] = _parse(*answers)
    return result


def _header(index: str) -> dict[str, Any]:
    return {"index": index, "ignore_unavailable": True, "allow_no_indices": True}


def _range(start: datetime, end: datetime) -> dict[str, Any]:
    return {"range": {"@timestamp": {"gte": start.isoformat(), "lt": end.isoformat()}}}


def _province_searches(codes: list[str], window: Window) -> list[dict[str, Any]]:
    scope = es.scope_filter(codes)
    day = _range(window.start, window.end)
    aggs_body = {
        "size": 0, "track_total_hits": False,
        "query": {"bool": {"filter": [*scope, _range(window.lookback_start, window.end)]}},
        "aggs": {"day": {"filter": day, "aggs": _day_aggs(window)}, "sources": _sources_agg(day)},
    }
    sample_body = {
        "size": SAMPLE_SIZE, "_source": False, "track_total_hits": False,
        "query": {"function_score": {
            "query": {"bool": {"filter": [*scope, day, {"exists": {"field": "event.ingested"}}]}},
            "random_score": {"seed": window.day.toordinal(), "field": "_seq_no"}, "boost_mode": "replace"}},
        "docvalue_fields": [{"field": "@timestamp", "format": "epoch_millis"},
                            {"field": "event.ingested", "format": "epoch_millis"}],
    }
    dead_body = {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [*scope, day]}}}
    resent_body = {"size": 0, "track_total_hits": False,
                   "query": {"bool": {"filter": [*scope, day, {"term": {"event.action": DUPLICATE_ACTION}}]}},
                   "aggs": {"resent": {"sum": {"field": "event.count"}}}}
    return [_header(es.events_pattern()), aggs_body, _header(es.events_pattern()), sample_body,
            _header(es.index_pattern("deadletter")), dead_body, _header(es.index_pattern(es.INGEST_STATS)), resent_body]


def _day_aggs(window: Window) -> dict[str, Any]:
    kinds = {kind: kind_query(kind) for kind in SOURCE_KINDS}
    return {
        "datasets": {"terms": {"field": "event.dataset", "size": 200, "missing": GENERIC_DATASET}},
        "parser_errors": {"filter": {"exists": {"field": "error.message"}}},
        # The collector's own "spool full, events dropped" reports (collectors.agent.runner).
        "gaps": {"filter": {"bool": {"filter": [{"term": {"event.dataset": GAP_DATASET}},
                                                {"term": {"event.action": GAP_ACTION}}]}},
                 "aggs": {"dropped": {"sum": {"field": "event.count"}}}},
        "kinds": {"filters": {"filters": kinds},
                  "aggs": {kind: {"filter": complete_query(kind)} for kind in SOURCE_KINDS}},
        "agents": {"terms": {"field": "agent.id", "size": MAX_COLLECTORS},
                   "aggs": {"hours": {"date_histogram": {
                       "field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 1}},
                            "generic": {"filter": GENERIC_QUERY}}},
    }


def _sources_agg(day: dict[str, Any]) -> dict[str, Any]:
    return {"terms": {"field": "agent.id", "size": MAX_COLLECTORS},
            "aggs": {"datasets": {"terms": {"field": "event.dataset", "size": 50, "missing": GENERIC_DATASET},
                                  "aggs": {"last": {"max": {"field": "@timestamp"}},
                                           "day": {"filter": day}}}}}


def _parse(aggs_response: dict[str, Any], sample_response: dict[str, Any], dead_response: dict[str, Any],
           resent_response: dict[str, Any]) -> EventMeasures:
    resent = resent_response.get("aggregations", {}).get("resent", {}).get("value") or 0
    measures = EventMeasures(deadletters=dead_response["hits"]["total"]["value"], duplicates=int(resent))
    aggs = aggs_response.get("aggregations")
    if aggs:
        _parse_day(measures, aggs["day"])
        measures.sources = _parse_sources(aggs["sources"])
    _parse_sample(measures, sample_response["hits"]["hits"])
    return measures


def _parse_day(measures: EventMeasures, day: dict[str, Any]) -> None:
    measures.events = day["doc_count"]
    measures.generic = sum(b["doc_count"] for b in day["datasets"]["buckets"] if b["key"] == GENERIC_DATASET)
    measures.parser_errors = day["parser_errors"]["doc_count"]
    measures.gaps_reported = day["gaps"]["doc_count"]
    measures.events_dropped = int(day["gaps"]["dropped"]["value"] or 0)
    measures.kinds = {kind: {"events": bucket["doc_count"], "complete": bucket[kind]["doc_count"]}
                      for kind, bucket in day["kinds"]["buckets"].items()}
    measures.online_hours = {b["key"]: len(b["hours"]["buckets"]) for b in day["agents"]["buckets"]}
    measures.agent_events = {b["key"]: {"events": b["doc_count"], "generic": b["generic"]["doc_count"]}
                             for b in day["agents"]["buckets"]}


def _parse_sources(sources: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        agent["key"]: {
            ds["key"]: {"last": datetime.fromtimestamp(ds["last"]["value"] / 1000, UTC).isoformat(),
                        "day": ds["day"]["doc_count"]}
            for ds in agent["datasets"]["buckets"]
        }
        for agent in sources["buckets"]
    }


def _parse_sample(measures: EventMeasures, hits: list[dict[str, Any]]) -> None:
    lags = sorted(
        (float(hit["fields"]["event.ingested"][0]) - float(hit["fields"]["@timestamp"][0])) / 1000
        for hit in hits if "event.ingested" in hit.get("fields", {}) and "@timestamp" in hit.get("fields", {})
    )
    measures.sample_size = len(lags)
    if not lags:
        return
    measures.lag_p50_s = round(max(0.0, percentile(lags, 50)), 3)
    measures.lag_p95_s = round(max(0.0, percentile(lags, 95)), 3)
    measures.future_share = sum(1 for lag in lags if lag < -FUTURE_TOLERANCE_S) / len(lags)


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (what Elasticsearch's exact mode would give)."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
