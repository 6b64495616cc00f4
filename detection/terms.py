"""New-term and silence rules: what appears for the first time, and what stops appearing.

Both are stateless reads over an Elasticsearch history window, so a restarted
worker needs nothing but the checkpoint: a value is *new* when its earliest
occurrence in the last ``history_days`` falls inside this run's window, and a
source is *silent* when it sent events in the history window but none in the
last ``silent_seconds``. Alert ids derive from the value and that first (or
last) moment, so overlapping runs find the same alert, never a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from elasticsearch import Elasticsearch

from detection.engine import (
    Finding,
    Window,
    by_province,
    composite_keys,
    field_names,
    lucene,
    parse_time,
    whole_numbers,
)


@dataclass(frozen=True)
class NewTermParams:
    query: str
    fields: tuple[str, ...]
    history: timedelta

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NewTermParams:
        fields = field_names(raw, "fields", what=" (a value or a combination)")
        [days] = whole_numbers(raw, history_days=0)
        if not 1 <= days <= 90:
            raise ValueError("history_days must be between 1 and 90")
        return cls(str(raw.get("query") or "*"), by_province(fields), timedelta(days=days))


def evaluate_new_term(es: Elasticsearch, index: str, raw: dict[str, Any], window: Window) -> list[Finding]:
    params = NewTermParams.from_dict(raw)
    present = [{"exists": {"field": f}} for f in params.fields]
    first_hit = {"first": {"top_hits": {"size": 1, "sort": [{window.time_field: "asc"}], "_source": False}}}
    query = window.query(lucene(params.query), *present)
    recent = {tuple(group.values()): (group, bucket)
              for group, bucket in composite_keys(es, index, query, params.fields, first_hit)}
    if not recent:
        return []
    seen = _seen_before(es, index, params, window, recent)
    findings = []
    for key, (group, bucket) in recent.items():
        if key in seen:
            continue
        hit = bucket["first"]["hits"]["hits"][0]
        moment = parse_time(hit["sort"][0])
        findings.append(Finding(group=group, first=moment, last=moment, count=int(bucket["doc_count"]),
                                event_refs=[f"{hit['_index']}/{hit['_id']}"], key=moment.isoformat()))
    return findings


def _seen_before(es: Elasticsearch, index: str, params: NewTermParams, window: Window,
                 recent: dict[tuple[str, ...], Any]) -> set[tuple[str, ...]]:
    """Which of the recent combinations already occurred in the history before this window."""
    seen: set[tuple[str, ...]] = set()
    firsts = sorted({key[1] for key in recent})
    for chunk in range(0, len(firsts), 1000):
        narrow = {"terms": {params.fields[1]: firsts[chunk : chunk + 1000]}}
        history = window.query(lucene(params.query), narrow, start=window.end - params.history,
                               end=window.start - timedelta(milliseconds=1))
        seen |= {tuple(g.values()) for g, _ in composite_keys(es, index, history, params.fields)}
    return seen


@dataclass(frozen=True)
class SilenceParams:
    query: str
    group_by: tuple[str, ...]
    silent: timedelta
    history: timedelta = timedelta(days=1)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SilenceParams:
        group_by = field_names(raw, "group_by", default=("agent.name",))
        silent, history = whole_numbers(raw, silent_seconds=0, history_seconds=int(cls.history.total_seconds()))
        if silent < 60 or history <= silent:
            raise ValueError("silent_seconds must be at least 60 and shorter than history_seconds")
        return cls(str(raw.get("query") or "*"), by_province(group_by),
                   timedelta(seconds=silent), timedelta(seconds=history))


def evaluate_silence(es: Elasticsearch, index: str, raw: dict[str, Any], window: Window) -> list[Finding]:
    """Sources with events in the history but none for ``silent_seconds`` before the window's end."""
    params = SilenceParams.from_dict(raw)
    last = {"last": {"max": {"field": window.time_field}}}
    query = window.query(lucene(params.query), start=window.end - params.history)
    findings = []
    for group, bucket in composite_keys(es, index, query, params.group_by, last):
        seen = parse_time(bucket["last"]["value_as_string"]) if bucket["last"].get("value_as_string") \
            else parse_time(int(bucket["last"]["value"]))
        if window.end - seen >= params.silent:
            findings.append(Finding(group=group, first=seen, last=seen, count=0, key=seen.isoformat(),
                                    details={"silent_since": seen.isoformat()}))
    return findings
