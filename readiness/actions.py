"""Concrete actions that would raise a province's score, written from its measures.

Ordered by dimension weight in the default policy: Connected first (nothing
else can be measured without data), Response last. Each action names what to
fix ("collector HNI-WEB-02 offline for 3 days") so a province can act on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from readiness.sources import REQUIRED_FIELDS

# Below these, an action is suggested.
MIN_ONLINE_SHARE = 0.9
MAX_GENERIC_SHARE = 0.1
MAX_FUTURE_SHARE = 0.01
MIN_FIELD_SHARE = 0.9
MAX_LAG_P95_S = 300.0
MAX_DUPLICATE_SHARE = 0.01

Action = dict[str, str]


def pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def connected_actions(m: dict[str, Any]) -> list[Action]:
    out: list[str] = []
    if m["enrolled"] < m["expected"]:
        out.append(f"{m['enrolled']} of {m['expected']} expected collectors enrolled: "
                   f"enrol {m['expected'] - m['enrolled']} more")
    for row in m["collectors"]:
        if row["last_event"] is None:
            out.append(f"collector {row['name']} has not sent any event in the last 7 days")
        elif row["offline_days"] >= 1:
            out.append(f"collector {row['name']} offline for {row['offline_days']} days")
        elif row["online_share"] < MIN_ONLINE_SHARE:
            out.append(f"collector {row['name']} sent events in only {pct(row['online_share'])} of the day's hours")
    out += [f"no {kind} logs received" for kind in m["missing_sources"]]
    out += [f"source {s['dataset']} on {s['collector']} silent since {s['last'][:10]}" for s in m["silent_sources"]]
    return [{"dimension": "connected", "text": text} for text in out]


def correct_actions(m: dict[str, Any]) -> list[Action]:
    out: list[str] = []
    for row in m.get("collectors", []):
        if row["parsed_share"] is not None and 1 - row["parsed_share"] > MAX_GENERIC_SHARE:
            out.append(f"collector {row['name']}: {pct(1 - row['parsed_share'])} of its events fell back to the "
                       "generic parser: configure a parser for these sources")
    if m["deadletters"]:
        out.append(f"{m['deadletters']} events rejected to the dead-letter index: fix their format")
    if m["future_share"] is not None and m["future_share"] > MAX_FUTURE_SHARE:
        out.append(f"{pct(m['future_share'])} of events are dated in the future: synchronise the clocks (NTP)")
    return [{"dimension": "correct", "text": text} for text in out]


def sufficient_actions(m: dict[str, Any]) -> list[Action]:
    return [{"dimension": "sufficient",
             "text": f"only {pct(v['share'])} of {kind} events carry {', '.join(REQUIRED_FIELDS[kind])}"}
            for kind, v in m["kinds"].items() if v["share"] is not None and v["share"] < MIN_FIELD_SHARE]


def clean_actions(m: dict[str, Any]) -> list[Action]:
    share = m.get("duplicate_ratio")
    if share is None or share <= MAX_DUPLICATE_SHARE:
        return []
    return [{"dimension": "clean", "text": f"{m['duplicates']} events ({pct(share)}) were sent again although "
             "already stored: collectors are not getting answers in time; check their link and timeouts"}]


def live_actions(m: dict[str, Any]) -> list[Action]:
    out: list[str] = []
    if m["lag_p95_s"] is not None and m["lag_p95_s"] > MAX_LAG_P95_S:
        out.append(f"ingest lag p95 is {m['lag_p95_s'] / 60:.0f} min: check the collector's backlog and network")
    if m["events_dropped"]:
        out.append(f"collectors dropped {m['events_dropped']} events in {m['gaps_reported']} gaps (spool full): "
                   "enlarge the spool or the link")
    return [{"dimension": "live", "text": text} for text in out]


def response_actions(m: dict[str, Any]) -> list[Action]:
    out: list[str] = []
    if m["requests_overdue"]:
        out.append(f"{m['requests_overdue']} requests for action overdue")
    if m["sla_compliance"] is not None and m["sla_compliance"] < 1:
        out.append(f"{pct(1 - m['sla_compliance'])} of incidents missed their SLA in the last 30 days")
    return [{"dimension": "response", "text": text} for text in out]


ACTIONS: dict[str, Callable[[dict[str, Any]], list[Action]]] = {
    "connected": connected_actions, "correct": correct_actions, "sufficient": sufficient_actions,
    "clean": clean_actions, "live": live_actions, "response": response_actions,
}


def actions_for(measures: dict[str, dict[str, Any]]) -> list[Action]:
    return [action for name, build in ACTIONS.items() for action in build(measures[name])]
