"""Readiness: the daily scorecard of 34 provinces over 30 days of events (millions), and its duration.

Events go to a bench-only index prefix (``bench-readiness-``) with ``_bulk``,
shaped as the ingest stores them (``organization.id``, ``agent.id``,
``event.ingested``), with province-specific quality so the scores differ:
every 5th province has a silent collector, every 7th sends 30 % unparsed lines,
every 3rd has a slow network. The indices are deleted at the end.

    .venv/bin/python bench/readiness_bench.py [--per-day 2000] [--days 30]
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["SOC_ES_PREFIX"] = "bench-readiness-"

from bench.common import cli, peak_rss_mb, report, short_mode
from bench.harness import django_setup

KINDS: list[tuple[str, dict[str, Any]]] = [
    ("system.auth", {"source": {"ip": "203.0.113.5"}, "user": {"name": "root"}, "event": {"outcome": "failure"}}),
    ("nginx.access", {"source": {"ip": "198.51.100.7"}, "url": {"original": "/"},
                      "http": {"response": {"status_code": 200}}}),
    ("iptables.log", {"source": {"ip": "192.0.2.1"}, "destination": {"ip": "10.0.0.8"}}),
    ("windows.sysmon_operational", {"host": {"name": "ws01"}, "event": {"code": "1"}}),
    ("dns.query", {"source": {"ip": "10.0.0.9"}, "dns": {"question": {"name": "example.org"}}}),
    ("postfix.log", {"email": {"from": {"address": "a@example.org"}, "to": {"address": "b@example.org"}}}),
]
COLLECTORS_PER_PROVINCE = 3


def collectors() -> dict[str, list[Any]]:
    from django.utils import timezone

    from collectors.models import Collector
    from collectors.services import collector_create
    from organisations.models import Organisation
    from organisations.services import organisation_tree_ensure
    from readiness.models import SOURCE_KINDS, ProvinceTarget

    organisation_tree_ensure()
    out: dict[str, list[Any]] = {}
    for org in Organisation.objects.provinces().order_by("code"):
        for n in range(COLLECTORS_PER_PROVINCE):
            name = f"{org.code}-BENCH-{n}"
            if not Collector.objects.filter(organisation=org, name=name).exists():
                collector_create(organisation=org, name=name)
        Collector.objects.filter(organisation=org).update(created_at=timezone.now() - timedelta(days=400))
        ProvinceTarget.objects.update_or_create(province=org, defaults={
            "expected_collectors": COLLECTORS_PER_PROVINCE, "required_sources": list(SOURCE_KINDS)})
        out[org.code] = list(Collector.objects.filter(organisation=org, name__contains="-BENCH-").order_by("name"))
    return out


def events(cols: dict[str, list[Any]], days: list[date], per_day: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    from django.utils import timezone

    from soc import es

    tz = timezone.get_default_timezone()
    for pos, (code, province_cols) in enumerate(cols.items()):
        silent, noisy, slow = pos % 5 == 0, pos % 7 == 0, pos % 3 == 0
        for day in days:
            start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
            active = province_cols[:-1] if silent and day > days[len(days) // 2] else province_cols
            for _ in range(per_day):
                yield _event(code, rng.choice(active), start + timedelta(seconds=rng.randrange(86400)),
                             rng, noisy=noisy, slow=slow, index=es.index_name)


def _event(code: str, collector: Any, at: datetime, rng: random.Random, *, noisy: bool, slow: bool,
           index: Any) -> dict[str, Any]:
    lag = rng.uniform(1, 900 if slow else 30)
    if noisy and rng.random() < 0.3:
        doc: dict[str, Any] = {"event": {"dataset": "generic", "original": "unparsed line"}}
    else:
        dataset, fields = KINDS[rng.randrange(len(KINDS))]
        doc = {k: dict(v) for k, v in fields.items()}
        doc.setdefault("event", {})["dataset"] = dataset
        if rng.random() < 0.05:
            doc.pop("source", None)
    doc["@timestamp"] = at.isoformat()
    doc["event"]["ingested"] = (at + timedelta(seconds=lag)).isoformat()
    doc["organization"] = {"id": code}
    doc["agent"] = {"id": str(collector.uid), "name": collector.name}
    return {"_op_type": "index", "_index": index("events", at), "_source": doc}


def load(cols: dict[str, list[Any]], days: list[date], per_day: int) -> tuple[int, float]:
    from elasticsearch.helpers import parallel_bulk

    from soc import es

    started, count = time.monotonic(), 0
    for ok, _item in parallel_bulk(es.client(), events(cols, days, per_day, random.Random(7)), thread_count=2,
                                  chunk_size=5000, raise_on_error=True):
        count += ok
    es.client().indices.refresh(index=es.events_pattern())
    return count, time.monotonic() - started


def main() -> None:
    short = short_mode()
    parser = cli(__doc__, short="7 days of 500 events per province")
    parser.add_argument("--per-day", type=int, default=500 if short else 2000, help="events per province per day")
    parser.add_argument("--days", type=int, default=7 if short else 30)
    args = parser.parse_args()
    django_setup()
    from django.utils import timezone

    from readiness.es_measures import event_measures
    from readiness.models import ReadinessSnapshot
    from readiness.selectors import province_subtree_codes
    from readiness.services import scorecards_compute, scorecards_recompute
    from readiness.windows import window_for
    from soc import es

    end = timezone.localdate() - timedelta(days=1)
    days = [end - timedelta(days=n) for n in range(args.days - 1, -1, -1)]
    cols = collectors()
    try:
        count, load_s = load(cols, days, args.per_day)
        print(f"loaded {count} events for {len(cols)} provinces x {len(days)} days in {load_s:.0f}s")
        started = time.monotonic()
        cards = scorecards_compute(day=end)
        daily_s = time.monotonic() - started
        started = time.monotonic()
        event_measures(provinces=province_subtree_codes([c.province for c in cards]), window=window_for(end))
        es_s = time.monotonic() - started
        started = time.monotonic()
        scorecards_recompute(start=days[0], end=end)
        period_s = time.monotonic() - started
        best = max(cards, key=lambda c: c.score)
        worst = min(cards, key=lambda c: c.score)
        levels = Counter(c.level for c in cards)
        print(f"best {best.province.code} {best.score}, worst {worst.province.code} {worst.score}, levels {levels}")
        report("readiness daily scorecard", {
            "provinces": len(cards), "events": count, "daily_scorecard_s": round(daily_s, 2),
            "of_which_msearch_s": round(es_s, 2),
            "recompute_days": len(days), "recompute_s": round(period_s, 1),
            "per_day_s": round(period_s / len(days), 2), "peak_rss_mb": peak_rss_mb()},
            target="daily scorecard well under a minute")
    finally:
        es.client().indices.delete(index="bench-readiness-*", ignore_unavailable=True, allow_no_indices=True,
                                   expand_wildcards="all")
        ReadinessSnapshot.objects.filter(day__range=(days[0], end)).delete()


if __name__ == "__main__":
    main()
