"""Incidents: list page, incident page and API list p95 server-side, and bulk-close of 1,000 in one request.

Seeds the bench database with incidents across the 34 provinces (default 100,000), each with a comment,
an observable and a timeline entry, and a request for action on every tenth; then times requests through
Django's handler in-process (middleware, view, queries, template or serializer: server-side time) as the
central lead (national scope) and as a provincial responder. Targets: ≤ 300 ms p95 for the pages and the
API list; bulk-close of 1,000 incidents with one shared summary in one request ≤ 5 s.

    .venv/bin/python bench/incidents_bench.py [--incidents 100000] [--runs 30]
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Its own indices and templates: a shorter shared prefix ("bench-") would overlap another benchmark's
# ("bench-ingest-events-*" against the "bench-ingest-*" template) and Elasticsearch refuses the template.
os.environ.setdefault("SOC_ES_PREFIX", "bench-incidents-")

from bench.common import cli, peak_rss_mb, report, short_mode, summary_ms
from bench.harness import django_setup

PREFIX = "IBN-"
SEVERITIES = ["low", "medium", "medium", "high", "critical"]
STATUSES = ["new", "triaged", "in_progress", "contained", "resolved", "closed", "closed", "closed"]
PASSWORD = "bench-password-2026"
BATCH = 5000


def seed(total: int) -> float:
    from incidents.models import Incident
    from organisations.models import Organisation
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    have = Incident.objects.filter(key__startswith=PREFIX).count()
    provinces = list(Organisation.objects.provinces())
    rng, now, started = random.Random(3), datetime.now(UTC), time.monotonic()
    for first in range(have, total, BATCH):
        rows = [_incident(n, provinces[n % len(provinces)], rng, now) for n in range(first, min(total, first + BATCH))]
        _insert(rows, now)
    return time.monotonic() - started


def _incident(n: int, province: Any, rng: random.Random, now: datetime) -> Any:
    from incidents.models import Incident

    created = now - timedelta(minutes=rng.randrange(90 * 24 * 60))
    return Incident(key=f"{PREFIX}{n:07d}", title=f"SSH brute force from 203.0.113.{n % 250} ({n})",
                    severity=rng.choice(SEVERITIES), status=rng.choice(STATUSES), province=province,
                    occurred_at=created, last_seen_at=created, ack_due_at=created + timedelta(hours=4),
                    contain_due_at=created + timedelta(days=1), resolve_due_at=created + timedelta(days=7))


def _insert(rows: list[Any], now: datetime) -> None:
    """Incidents and their comments, observables, timeline and requests, by bulk_create."""
    from django.db import connection

    from incidents.models import Comment, Incident, Observable, RequestForAction, TimelineEntry

    made = Incident.objects.bulk_create(rows)
    Comment.objects.bulk_create([Comment(incident=i, body=f"looked at {i.key}") for i in made])
    Observable.objects.bulk_create([Observable(incident=i, kind="ip", value=f"203.0.113.{n % 250}")
                                    for n, i in enumerate(made)])
    TimelineEntry.objects.bulk_create([TimelineEntry(incident=i, actor_name="system", kind="incident.created",
                                                     after={"title": i.title}) for i in made])
    RequestForAction.objects.bulk_create([
        RequestForAction(incident=i, province=i.province, instructions="block the source", due_at=now)
        for i in made[::10]])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_incident SET created_at = occurred_at "
                       "WHERE key LIKE %s AND created_at <> occurred_at", [f"{PREFIX}%"])


def users() -> dict[str, Any]:
    from organisations.models import Organisation, Role
    from organisations.services import user_with_role

    national, hni = Organisation.objects.get(kind="national"), Organisation.objects.get(code="HNI")
    return {"lead": user_with_role(username="bench.lead", password=PASSWORD, organisation=national,
                                   role=Role.CENTRAL_LEAD),
            "responder": user_with_role(username="bench.hni.responder", password=PASSWORD, organisation=hni,
                                        role=Role.PROVINCIAL_RESPONDER)}


def timed(client: Any, url: str, runs: int) -> list[float]:
    for _ in range(3):
        assert client.get(url).status_code == 200, url
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        out.append(time.perf_counter() - started)
        assert response.status_code == 200, url
    return out


def bulk_close(client: Any, count: int) -> tuple[float, int]:
    """Open ``count`` fresh incidents in one province, then close them all in one API request."""
    from incidents.models import Incident
    from organisations.models import Organisation

    hcm, now = Organisation.objects.get(code="HCM"), datetime.now(UTC)
    stamp = int(time.time())
    fresh = Incident.objects.bulk_create([
        Incident(key=f"IBC-{stamp}-{n:05d}", title="bulk-close bench", province=hcm, last_seen_at=now)
        for n in range(count)])
    body = json.dumps({"keys": [i.key for i in fresh], "action": "close",
                       "resolution_summary": "Scanner noise during the pentest window."})
    started = time.perf_counter()
    response = client.post("/api/v1/incidents/bulk/", body, content_type="application/json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:300]
    return elapsed, len(response.json()["changed"])


def main() -> None:
    short = short_mode()
    parser = cli(__doc__, short="10,000 incidents, 10 runs per page")
    parser.add_argument("--incidents", type=int, default=10_000 if short else 100_000)
    parser.add_argument("--runs", type=int, default=10 if short else 30)
    parser.add_argument("--bulk", type=int, default=1000)
    args = parser.parse_args()
    django_setup()
    from django.test import Client

    from incidents.models import Incident

    load_s = seed(args.incidents)
    key = Incident.objects.filter(key__startswith=PREFIX, province__code="HNI").order_by("-created_at")[0].key
    pages = {"list_page": "/incidents/", "incident_page": f"/incidents/{key}/", "api_list": "/api/v1/incidents/",
             "api_list_sla_breached": "/api/v1/incidents/?sla_breached=true", "api_detail": f"/api/v1/incidents/{key}/"}
    for who, user in users().items():
        client = Client()
        client.force_login(user)
        for name, url in pages.items():
            report(f"incidents.{name}.{who}", {**summary_ms(timed(client, url, args.runs)),
                                               "incidents": Incident.objects.count()}, target="300 ms p95")
    lead = Client()
    lead.force_login(users()["lead"])
    seconds, closed = bulk_close(lead, args.bulk)
    report("incidents.bulk_close", {"incidents": closed, "seconds": round(seconds, 2)}, target="≤ 5 s for 1,000")
    report("incidents.setup", {"seed_s": round(load_s, 1), "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
