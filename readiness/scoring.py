"""From measures to dimension scores (0-100), the composite score, the level and the actions.

Each dimension score is a documented formula of its measures (docs/readiness.md).
A dimension that cannot be measured (None) is left out and the remaining
weights are scaled up, except that a province which sent no events at all
scores 0 on every data dimension: absent data must never look clean.
"""

from __future__ import annotations

from typing import Any

from readiness.models import Level, ScoringPolicy

# Targets: at or better than these a component scores full marks.
LAG_P95_TARGET_S = 60.0
LAG_P95_WORST_S = 3600.0
MTTA_TARGET_S = 4 * 3600.0
MTTR_TARGET_S = 72 * 3600.0
# 5 % malformed (50,000 per million) or worse scores 0 on that component.
MALFORMED_WORST_PER_MILLION = 50_000.0


def clamp01(value: float) -> float:
    return max(0.0, min(1.0, value))


def weighted(parts: list[tuple[float, float | None]]) -> float | None:
    """Weighted mean of the parts that are measurable, as 0-100; None if none is."""
    known = [(w, v) for w, v in parts if v is not None]
    total = sum(w for w, _ in known)
    return round(100 * sum(w * v for w, v in known) / total, 1) if total else None


def score_connected(m: dict[str, Any]) -> float | None:
    required = m["required_sources"]
    coverage = clamp01(len(m["covered_sources"]) / len(required)) if required else 1.0
    silent = 1 - len(m["silent_sources"]) / m["active_sources"] if m["active_sources"] else None
    return weighted([(0.6, m["delivered_share"]), (0.3, coverage), (0.1, silent)])


def score_correct(m: dict[str, Any]) -> float | None:
    future = None if m["future_share"] is None else 1 - m["future_share"]
    dead = None if m["deadletter_share"] is None else 1 - m["deadletter_share"]
    return weighted([(0.5, m["parsed_share"]), (0.3, dead), (0.2, future)])


def score_sufficient(m: dict[str, Any]) -> float | None:
    return weighted([(1.0, m["share"])])


def score_clean(m: dict[str, Any]) -> float | None:
    per_million = m["malformed_per_million"]
    malformed = None if per_million is None else clamp01(1 - per_million / MALFORMED_WORST_PER_MILLION)
    duplicates = None if m["duplicate_ratio"] is None else 1 - m["duplicate_ratio"]
    return weighted([(0.8, malformed), (0.2, duplicates)])


def score_live(m: dict[str, Any]) -> float | None:
    p95 = m["lag_p95_s"]
    lag = None if p95 is None else clamp01(1 - (p95 - LAG_P95_TARGET_S) / (LAG_P95_WORST_S - LAG_P95_TARGET_S))
    return weighted([(0.7, lag), (0.3, m["kept_share"])])


def score_response(m: dict[str, Any]) -> float | None:
    mtta = None if m["mtta_s"] is None else clamp01(MTTA_TARGET_S / max(m["mtta_s"], 1.0))
    mttr = None if m["mttr_s"] is None else clamp01(MTTR_TARGET_S / max(m["mttr_s"], 1.0))
    requests = None if not m["requests_due"] else 1 - m["requests_overdue"] / m["requests_due"]
    return weighted([(0.2, mtta), (0.2, mttr), (0.3, m["sla_compliance"]), (0.3, requests)])


SCORERS = {"connected": score_connected, "correct": score_correct, "sufficient": score_sufficient,
           "clean": score_clean, "live": score_live, "response": score_response}
DATA_DIMENSIONS = ("correct", "sufficient", "clean", "live")


def dimension_scores(measures: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    scores = {name: scorer(measures[name]) for name, scorer in SCORERS.items()}
    if not measures["correct"]["events"]:
        scores.update(dict.fromkeys(DATA_DIMENSIONS, 0.0))
    return scores


def composite(scores: dict[str, float | None], policy: ScoringPolicy) -> float:
    weights = policy.weights()
    known = {name: s for name, s in scores.items() if s is not None and weights[name] > 0}
    total = sum(weights[name] for name in known)
    return round(sum(weights[name] * s for name, s in known.items()) / total, 1) if total else 0.0


def level_for(score: float, policy: ScoringPolicy) -> str:
    if score >= policy.ready_threshold:
        return Level.READY
    if score >= policy.partial_threshold:
        return Level.PARTIAL
    return Level.NOT_READY
