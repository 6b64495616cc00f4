"""The six groups of measures of one province for one day, from the raw event and SQL readings.

Pure functions: no database or Elasticsearch access, so every definition in
docs/readiness.md is checked here on plain numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from readiness.es_measures import EventMeasures
from readiness.sources import PLATFORM_DATASET_PREFIX
from readiness.sql_measures import CollectorInfo, ResponseMeasures
from readiness.windows import Window

HOURS_PER_DAY = 24


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def connected(*, events: EventMeasures, collectors: list[CollectorInfo], expected: int,
              required: list[str], window: Window) -> dict[str, Any]:
    covered = sorted(k for k, v in events.kinds.items() if v["events"] > 0)
    silent = silent_sources(events=events, collectors=collectors)
    rows = [collector_row(c, events, window) for c in collectors]
    return {
        "expected": expected, "enrolled": len(collectors),
        "online_share": ratio(sum(r["online_share"] for r in rows), len(rows)) if rows else 0.0,
        "delivered_share": delivered_share(rows, expected),
        "collectors": rows,
        "required_sources": list(required), "covered_sources": covered,
        "missing_sources": [k for k in required if k not in covered],
        "active_sources": sum(1 for datasets in events.sources.values() for dataset in datasets
                              if not dataset.startswith(PLATFORM_DATASET_PREFIX)),
        "silent_sources": silent,
    }


def delivered_share(rows: list[dict[str, Any]], expected: int) -> float | None:
    """Collector-hours with events over the expected collector-hours of the day, at most 1.

    One figure for both "not enrolled" and "enrolled but offline": an expected collector
    that is missing delivers no hours, exactly like one that is silent all day.
    """
    capacity = expected or len(rows)
    if not capacity:
        return None
    return min(1.0, sum(r["online_share"] for r in rows) / capacity)


def collector_row(collector: CollectorInfo, events: EventMeasures, window: Window) -> dict[str, Any]:
    """Hours with events on the day, and the last sign of life (event or contact) before the day's end."""
    lasts = [s["last"] for s in events.sources.get(collector.uid, {}).values()]
    if collector.last_seen_at:
        lasts.append(collector.last_seen_at)
    last = max((datetime.fromisoformat(v) for v in lasts), default=None)
    return {
        "name": collector.name,
        "online_share": events.online_hours.get(collector.uid, 0) / HOURS_PER_DAY,
        "last_event": last.isoformat() if last else None,
        "offline_days": (window.end - last).days if last else None,
    }


def silent_sources(*, events: EventMeasures, collectors: list[CollectorInfo]) -> list[dict[str, Any]]:
    """Sources (collector and dataset) seen in the look-back week but not on the day."""
    names = {c.uid: c.name for c in collectors}
    return sorted(
        ({"collector": names.get(uid, f"unenrolled {uid[:8]}"), "dataset": dataset, "last": s["last"]}
         for uid, datasets in events.sources.items() for dataset, s in datasets.items()
         if s["day"] == 0 and not dataset.startswith(PLATFORM_DATASET_PREFIX)),
        key=lambda s: (s["collector"], s["dataset"]),
    )


def correct(events: EventMeasures, collectors: list[CollectorInfo]) -> dict[str, Any]:
    received = events.events + events.deadletters
    names = {c.uid: c.name for c in collectors}
    return {
        "collectors": sorted(
            ({"name": names.get(uid, f"unenrolled {uid[:8]}"), "events": v["events"], "generic": v["generic"],
              "parsed_share": ratio(v["events"] - v["generic"], v["events"])}
             for uid, v in events.agent_events.items()), key=lambda row: row["name"]),
        "events": events.events, "generic": events.generic,
        "parsed_share": ratio(events.events - events.generic, events.events),
        "deadletters": events.deadletters, "deadletter_share": ratio(events.deadletters, received),
        "future_share": events.future_share, "sample_size": events.sample_size,
    }


def sufficient(events: EventMeasures) -> dict[str, Any]:
    counted = {kind: v for kind, v in events.kinds.items() if v["events"]}
    kinds = {kind: {**v, "share": ratio(v["complete"], v["events"])} for kind, v in counted.items()}
    return {"kinds": kinds, "share": ratio(sum(v["complete"] for v in counted.values()),
                                           sum(v["events"] for v in counted.values()))}


def clean(events: EventMeasures) -> dict[str, Any]:
    received = events.events + events.deadletters
    malformed = events.deadletters + events.parser_errors
    return {
        # Resent events the ingest refused as already stored, over everything that arrived on the day.
        "duplicates": events.duplicates,
        "duplicate_ratio": ratio(events.duplicates, events.events + events.duplicates),
        "deadletter_ratio": ratio(events.deadletters, received),
        "parser_errors": events.parser_errors,
        "malformed_per_million": round(1_000_000 * malformed / received, 1) if received else None,
    }


def live(*, events: EventMeasures, collectors: list[CollectorInfo], window: Window) -> dict[str, Any]:
    names = {c.uid: c.name for c in collectors}
    sources = sorted(
        ((round((window.end - datetime.fromisoformat(s["last"])).total_seconds()),
          names.get(uid, f"unenrolled {uid[:8]}"), dataset)
         for uid, datasets in events.sources.items() for dataset, s in datasets.items()
         if not dataset.startswith(PLATFORM_DATASET_PREFIX)),
        key=lambda row: (-row[0], row[1], row[2]),
    )
    return {"lag_p50_s": events.lag_p50_s, "lag_p95_s": events.lag_p95_s,
            "sources": [{"collector": name, "dataset": dataset, "age_s": age} for age, name, dataset in sources],
            "gaps_reported": events.gaps_reported, "events_dropped": events.events_dropped,
            "kept_share": ratio(events.events, events.events + events.events_dropped)}


def response(measures: ResponseMeasures) -> dict[str, Any]:
    return measures.as_dict()
