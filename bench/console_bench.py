"""Console: triage queue, incident page, dashboard and event search, server-side p50/p95.

Seeds the bench database with incidents across the 34 provinces (default 100,000)
and a bench-only index prefix (``bench-console-``) with events (default 1,000,000
over 7 days, 15 fields each), then times each page through Django's request handler in-process
(server-side time: middleware, view, queries, Elasticsearch, template), as a
central analyst (national scope) and as a provincial responder. Targets: pages
≤ 300 ms p95, event search with its histogram ≤ 500 ms p95.

The event search's field sidebar (top values of every field over the same scoped query) is timed side by
side with the search it accompanies: ``sidebar`` is the sidebar's own work (field types from the mapping,
then one scoped aggregation request), ``results`` the events page and histogram alone, and the
``event_search_*`` pages the whole page with both. Target: sidebar ≤ 500 ms p95.

    .venv/bin/python bench/console_bench.py [--incidents 100000] [--events 1000000] [--runs 30] [--keep]
        [--pages dashboard,sidebar]

``--short`` times only the event search pages and the sidebar, on 100,000 events, so that ``make bench``'s
quick run stays under a minute.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["SOC_ES_PREFIX"] = "bench-console-"

from bench.common import cli, peak_rss_mb, report, short_mode, summary_ms
from bench.harness import django_setup

SEVERITIES = ["low", "medium", "medium", "high", "critical"]
STATUSES = ["new", "triaged", "in_progress", "contained", "resolved", "closed", "closed", "closed"]
# Incidents older than two weeks are, as in a working SOC, nearly all finished.
FINISHED = ["resolved", "closed", "closed", "closed", "false_positive", "duplicate"]
RECENT = timedelta(days=14)
CATEGORIES = ["intrusion_attempts", "malicious_code", "information_gathering", "availability", "other"]
PASSWORD = "bench-password-2026"


def seed_incidents(total: int, *, reseed: bool) -> None:
    from incidents.models import Incident
    from organisations.models import Organisation
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    if reseed:
        Incident.objects.filter(key__startswith="BEN-").delete()
    have = Incident.objects.filter(key__startswith="BEN-").count()
    if have >= total:
        return
    provinces = list(Organisation.objects.provinces())
    rng, now = random.Random(6), datetime.now(UTC)
    batch: list[Incident] = []
    for n in range(have, total):
        created = now - timedelta(minutes=rng.randrange(90 * 24 * 60))
        status = rng.choice(STATUSES if now - created < RECENT else FINISHED)
        batch.append(Incident(
            key=f"BEN-{n:07d}", title=f"Bench incident {n}: ssh brute force from 203.0.113.{n % 250}",
            severity=rng.choice(SEVERITIES), status=status, category=rng.choice(CATEGORIES),
            province=provinces[n % len(provinces)], dedup_key=f"bench:{n}", occurred_at=created,
            acknowledged_at=created + timedelta(minutes=rng.randrange(5, 240)),
            resolved_at=created + timedelta(hours=rng.randrange(1, 72)) if status in ("resolved", "closed") else None))
        if len(batch) == 5000:
            _insert(batch)
            batch = []
    _insert(batch)


def _insert(batch: list[Any]) -> None:
    """bulk_create, then move created_at (auto_now_add) to the seeded moment kept in occurred_at."""
    from django.db import connection

    from incidents.models import Incident

    if not batch:
        return
    Incident.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_incident SET created_at = occurred_at "
                       "WHERE key LIKE 'BEN-%%' AND created_at <> occurred_at")


def event_docs(total: int) -> Iterator[dict[str, Any]]:
    from organisations.provinces import PROVINCES
    from soc import es

    rng, now = random.Random(7), datetime.now(UTC)
    codes = [code for code, _ in PROVINCES]
    for n in range(total):
        ts = now - timedelta(seconds=rng.randrange(7 * 24 * 3600))
        org = codes[n % len(codes)]
        yield {"_index": es.index_name("events", ts), "_op_type": "create", "_source": {
            "@timestamp": ts.isoformat().replace("+00:00", "Z"), "organization": {"id": org, "name": org},
            "host": {"name": f"{org.lower()}-web-{n % 5:02d}"}, "source": {"ip": f"203.0.113.{n % 250}"},
            "user": {"name": rng.choice(["root", "admin", "oracle", "test", "ubuntu"])},
            "event": {"dataset": "system.auth", "action": rng.choice(["ssh_login", "invalid_user"]),
                      "outcome": rng.choice(["failure", "failure", "success"])},
            "message": f"Failed password for root from 203.0.113.{n % 250} port {40000 + n % 20000} ssh2",
            # More ECS fields, as real auth and network logs carry: the sidebar aggregates every one of them.
            "process": {"name": rng.choice(["sshd", "sudo", "cron"]), "pid": 1000 + n % 5000},
            "destination": {"ip": f"10.{n % 34}.0.{n % 7 + 1}", "port": 22},
            "log": {"level": rng.choice(["info", "info", "warning", "error"])}}}


def seed_events(total: int) -> float:
    from elasticsearch import helpers

    from soc import es

    client = es.client()
    if client.indices.exists(index=es.events_pattern(), allow_no_indices=False):
        have = client.count(index=es.events_pattern())["count"]
        if have >= total:
            return 0.0
        client.indices.delete(index=es.events_pattern())
    started = time.monotonic()
    for _ok, _item in helpers.parallel_bulk(client, event_docs(total), chunk_size=5000, thread_count=2,
                                            raise_on_error=True):
        pass
    client.indices.refresh(index=es.events_pattern())
    client.indices.forcemerge(index=es.events_pattern(), max_num_segments=1, wait_for_completion=True)
    return time.monotonic() - started


def users() -> dict[str, Any]:
    from organisations.models import Organisation, Role
    from organisations.services import user_with_role

    national = Organisation.objects.get(kind="national")
    hni = Organisation.objects.get(code="HNI")
    return {"analyst": user_with_role(username="bench.analyst", password=PASSWORD, organisation=national,
                                      role=Role.CENTRAL_ANALYST),
            "responder": user_with_role(username="bench.hni", password=PASSWORD, organisation=hni,
                                        role=Role.PROVINCIAL_RESPONDER)}


def weekly_rollup(runs: int) -> list[float]:
    """The dashboard's past weeks are a rollup refreshed by beat every 5 minutes (console.tasks): time it too."""
    from django.utils import timezone

    from console.services import weekly_figures_refresh

    out = []
    for _ in range(runs):
        started = time.perf_counter()
        weekly_figures_refresh(now=timezone.now())
        out.append(time.perf_counter() - started)
    return out


SIDEBAR_SEARCHES = {"7d": "range=7d", "7d_query": "range=7d&q=event.outcome:failure AND user.name:root",
                    "24h_filtered": "range=24h&f=event.action:ssh_login&nf=log.level:info"}


def sidebar_sides(user: Any, query: str, runs: int) -> dict[str, list[float]]:
    """The sidebar and the results it accompanies, timed apart over the same search (the sample of events the
    sidebar reads is the page the search just showed)."""
    from django.http import QueryDict

    from console.search import parse_search
    from console.selectors import event_search_page, event_sidebar

    times: dict[str, list[float]] = {"sidebar": [], "results": []}
    for n in range(runs + 3):
        # Parsed anew each time, as each page view is: "the last 7 days" moves with the clock, so Elasticsearch's
        # request cache (which would answer a repeated size-0 aggregation from memory) never helps.
        search = parse_search(QueryDict(query))
        started = time.perf_counter()
        page = event_search_page(user=user, search=search)
        between = time.perf_counter()
        sidebar = event_sidebar(user=user, search=search, sample=page.events)
        done = time.perf_counter()
        assert sidebar.fields and not sidebar.error, (query, sidebar.error)
        if n >= 3:  # the first runs warm the caches, as the first visitor of a day does
            times["results"].append(between - started)
            times["sidebar"].append(done - between)
    return times


def report_sidebar(cast: dict[str, Any], runs: int, events: int) -> None:
    for who, user in cast.items():
        for name, query in SIDEBAR_SEARCHES.items():
            times = sidebar_sides(user, query, runs)
            report(f"console.sidebar_{name}.{who}", {
                "sidebar_p50_ms": summary_ms(times["sidebar"])["p50_ms"],
                "sidebar_p95_ms": summary_ms(times["sidebar"])["p95_ms"],
                "results_p50_ms": summary_ms(times["results"])["p50_ms"],
                "results_p95_ms": summary_ms(times["results"])["p95_ms"], "events": events},
                target="sidebar 500 ms p95")


def timed(client: Any, url: str, runs: int) -> list[float]:
    for _ in range(3):
        assert client.get(url).status_code == 200, url
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        out.append(time.perf_counter() - started)
        assert response.status_code == 200, url
    return out


def main() -> None:
    short = short_mode()
    parser = cli(__doc__, short="100,000 events, 10 runs of the event search pages and the sidebar")
    parser.add_argument("--incidents", type=int, default=10_000 if short else 100_000)
    parser.add_argument("--events", type=int, default=100_000 if short else 1_000_000)
    parser.add_argument("--runs", type=int, default=10 if short else 30)
    parser.add_argument("--keep", action="store_true", help="keep the bench events for the next run")
    parser.add_argument("--reseed", action="store_true", help="delete and recreate the bench incidents")
    parser.add_argument("--pages", default="event_search_7d_histogram,event_search_query,sidebar" if short else "",
                        help="comma-separated page names to time, 'sidebar' for the field sidebar (default: all)")
    args = parser.parse_args()
    django_setup()
    from django.test import Client, override_settings

    from incidents.models import Incident
    from soc import es

    seed_incidents(args.incidents, reseed=args.reseed)
    load_s = seed_events(args.events)
    cast = users()
    key = Incident.objects.filter(key__startswith="BEN-", province__code="HNI").order_by("-created_at")[0].key
    pages = {"triage_queue": "/incidents/", "incident_page": f"/incidents/{key}/",
             "dashboard": "/console/dashboard/", "event_search_7d_histogram": "/console/events/?range=7d",
             "event_search_query": "/console/events/?range=7d&q=event.outcome:failure%20AND%20user.name:root"}
    wanted = args.pages.split(",") if args.pages else [*pages, "sidebar"]
    pages = {name: url for name, url in pages.items() if name in wanted}
    if "dashboard" in pages:
        report("console.weekly_rollup_refresh", {**summary_ms(weekly_rollup(5)), "incidents": args.incidents},
               target="in a worker, every 300 s")
    try:
        for who, user in cast.items():
            client = Client()
            client.force_login(user)
            for name, url in pages.items():
                target = "500 ms p95" if name.startswith("event_search") else "300 ms p95"
                report(f"console.{name}.{who}", {**summary_ms(timed(client, url, args.runs)),
                                                 "incidents": args.incidents, "events": args.events}, target=target)
            if "dashboard" not in pages:
                continue
            # As deployed: figures shared for 15 s by users of the same scope (the rows above are uncached).
            with override_settings(SOC_DASHBOARD_CACHE_SECONDS=15):
                report(f"console.dashboard_shared_15s.{who}", summary_ms(timed(client, pages["dashboard"], args.runs)),
                       target="300 ms p95")
        if "sidebar" in wanted:
            report_sidebar(cast, args.runs, args.events)
        report("console.setup", {"events_load_s": round(load_s, 1), "peak_rss_mb": peak_rss_mb()})
    finally:
        if not args.keep:
            es.client().indices.delete(index=es.events_pattern(), ignore_unavailable=True, allow_no_indices=True)


if __name__ == "__main__":
    main()
