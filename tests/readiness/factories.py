"""Snapshots made without Elasticsearch, with measures of the real shape (built by readiness.measures)."""

from __future__ import annotations

from datetime import date
from typing import Any

from organisations.models import Organisation
from readiness import measures as m
from readiness.es_measures import EventMeasures
from readiness.models import ReadinessSnapshot
from readiness.scoring import dimension_scores
from readiness.sql_measures import CollectorInfo, ResponseMeasures
from readiness.windows import window_for

HOSTILE = '<script>alert("x")</script>'


def measures_for(day: date, collector_name: str = "HNI-WEB-01") -> dict[str, Any]:
    window = window_for(day)
    collectors = [CollectorInfo(uid="0f" * 16, name=collector_name, last_seen_at=None)]
    events = EventMeasures(events=10, kinds={"authentication": {"events": 10, "complete": 9}},
                           online_hours={"0f" * 16: 12},
                           sources={"0f" * 16: {"system.auth": {"last": window.start.isoformat(), "day": 10}}},
                           sample_size=10, lag_p50_s=2.0, lag_p95_s=9.0, future_share=0.0)
    return {
        "connected": m.connected(events=events, collectors=collectors, expected=1, required=["authentication"],
                                 window=window),
        "correct": m.correct(events, collectors), "sufficient": m.sufficient(events), "clean": m.clean(events),
        "live": m.live(events=events, collectors=collectors, window=window),
        "response": m.response(ResponseMeasures()),
    }


def snapshot(org: Organisation, day: date, score: float, level: str = "partial",
             dimensions: dict[str, float | None] | None = None, collector_name: str = "HNI-WEB-01",
             actions: list[dict[str, str]] | None = None) -> ReadinessSnapshot:
    measures = measures_for(day, collector_name)
    return ReadinessSnapshot.objects.create(
        province=org, day=day, score=score, level=level, measures=measures,
        dimensions=dimensions if dimensions is not None else dimension_scores(measures),
        actions=actions if actions is not None else [{"dimension": "connected",
                                                      "text": f"collector {collector_name} offline for 2 days"}])
