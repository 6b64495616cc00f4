"""CPU per request of the console's busiest pages, production profile, as the web server spends it.

Starts the web tier as production does (``SOC_PROFILE=production``: DEBUG off, hashed static files, second
factor enrolled) over the users benchmark's data (100,000 incidents, 300,000 events) and asks each page
``--requests`` times, one request at a time, as a signed-in central analyst and a Hà Nội responder. CPU per
request = user + system seconds of the server's whole process tree (from /proc) over those requests, divided
by their number: HTTP parsing, middleware, session and user, view, queries' Python side, template or
serializer. PostgreSQL's and Elasticsearch's own CPU over the same requests is printed beside it
(``*_pg_cpu_ms``, ``*_es_cpu_ms``: the whole service, so anything else using it on the machine counts too).

``--baseline DIR`` measures another checkout's server in the same run, rounds alternating, e.g. the commit
this work started from:

    git worktree add /tmp/base <commit> && ln -s $PWD/.venv /tmp/base/.venv
    .venv/bin/python bench/page_cpu_bench.py --baseline /tmp/base
    .venv/bin/python bench/page_cpu_bench.py --short      # fewer requests, one round
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import procstat
from bench.common import report
from bench.console_bench import PASSWORD, seed_events, seed_incidents
from bench.harness import ROOT, django_setup
from bench.webserver import HEADERS, WebServer, production_env, signed_in

INCIDENTS, EVENTS = 100_000, 300_000  # the users benchmark's data: the two share it
PAGES = {
    "triage_queue": "/incidents/",
    "incident_page": "/incidents/{key}/",
    "api_incident_list": "/api/v1/incidents/",
    "dashboard": "/console/dashboard/",
    "event_search": "/console/events/?range=24h&q=event.outcome:failure",
}
TARGETED = ("triage_queue", "incident_page", "api_incident_list")  # issue 14: each at most half of before


def cast() -> dict[str, tuple[str, str]]:
    """who -> (session cookie, an incident key the user may open)."""
    from incidents.models import Incident
    from organisations.models import Organisation, Role
    from organisations.services import user_with_role

    national, hni = Organisation.objects.get(kind="national"), Organisation.objects.get(code="HNI")
    key = Incident.objects.filter(key__startswith="BEN-", province=hni).order_by("-created_at")[0].key
    return {
        "analyst": (signed_in(user_with_role(username="bench.cpu.analyst", password=PASSWORD, organisation=national,
                                             role=Role.CENTRAL_ANALYST)), key),
        "responder": (signed_in(user_with_role(username="bench.cpu.responder", password=PASSWORD, organisation=hni,
                                               role=Role.PROVINCIAL_RESPONDER)), key),
    }


def services() -> dict[str, int]:
    """PostgreSQL's and Elasticsearch's listening processes: their CPU a request is reported beside the web's."""
    from urllib.parse import urlsplit

    from django.conf import settings

    ports = {"pg": int(str(settings.DATABASES["default"]["PORT"])),
             "es": urlsplit(settings.ELASTICSEARCH_URL).port or 9200}
    return {name: pid for name, port in ports.items() if (pid := procstat.listening_pid(port))}


def cpu_ms_per_request(server: WebServer, session: str, path: str, requests: int) -> dict[str, float]:
    """CPU ms a request of the web tree (``web``) and of PostgreSQL and Elasticsearch, each with its children."""
    pids = services()

    def cpu() -> dict[str, float]:
        return {"web": server.cpu().cpu_seconds,
                **{name: procstat.sample(procstat.tree(pid)).cpu_seconds for name, pid in pids.items()}}

    with httpx.Client(base_url=server.base, headers=HEADERS, cookies={"sessionid": session}, timeout=60) as client:
        for _ in range(5):  # warm: connection, caches, the first query plan
            check(client.get(path), path)
        before = cpu()
        for _ in range(requests):
            check(client.get(path), path)
        after = cpu()
    return {name: round((after[name] - before[name]) * 1000 / requests, 2) for name in after}


def check(response: httpx.Response, path: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:300]}")


def measure(servers: dict[str, WebServer], people: dict[str, tuple[str, str]], args: argparse.Namespace
            ) -> dict[tuple[str, str, str], list[dict[str, float]]]:
    """(server, who, page) -> CPU ms per request in each round (web, pg, es); servers alternate within a round."""
    out: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    for _ in range(args.rounds):
        for who, (session, key) in people.items():
            for page in args.pages:
                for name, server in servers.items():
                    out.setdefault((name, who, page), []).append(
                        cpu_ms_per_request(server, session, PAGES[page].format(key=key), args.requests))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="another checkout (a git worktree) to measure side by side")
    parser.add_argument("--requests", type=int, help="requests per page and round (default 200, short 60)")
    parser.add_argument("--rounds", type=int, help="rounds, servers alternating (default 3, short 1)")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated, of: " + ", ".join(PAGES))
    parser.add_argument("--short", action="store_true", help="60 requests per page, one round")
    args = parser.parse_args()
    args.requests = args.requests or (60 if args.short else 200)
    args.rounds = args.rounds or (1 if args.short else 3)
    args.pages = args.pages.split(",")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    django_setup()
    seed_incidents(INCIDENTS, reseed=False)
    seed_events(EVENTS)
    people = cast()
    roots = {"this": ROOT, **({"baseline": Path(args.baseline).resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory() as tmp:
        servers: dict[str, WebServer] = {}
        try:
            for name, root in roots.items():
                env = production_env(root, Path(tmp) / f"static-{name}")
                servers[name] = WebServer(root, env, Path(tmp) / f"{name}.log")
            results = measure(servers, people, args)
        except Exception:
            for name, server in servers.items():  # the cause is in the server's log, which goes with tmp
                print(f"--- {name} server log (tail)", *server.log.read_text(errors="replace").splitlines()[-30:],
                      sep="\n", file=sys.stderr)
            raise
        finally:
            for server in servers.values():
                server.stop()
    summarise(results, roots, args)


def summarise(results: dict[tuple[str, str, str], list[dict[str, float]]], roots: dict[str, Path],
              args: argparse.Namespace) -> None:
    """The web's CPU is the least of the rounds; PostgreSQL's and Elasticsearch's are from that same round."""
    for who in ("analyst", "responder"):
        for page in args.pages:
            figures: dict[str, Any] = {}
            for name in roots:
                least = min(results[(name, who, page)], key=lambda r: r["web"])
                figures[f"{name}_cpu_ms"] = least["web"]
                figures.update({f"{name}_{svc}_cpu_ms": ms for svc, ms in least.items() if svc != "web"})
            if "baseline" in roots:
                figures["ratio"] = round(figures["this_cpu_ms"] / figures["baseline_cpu_ms"], 2)
            figures.update(requests=args.requests, rounds=args.rounds)
            report(f"page cpu: {page}, {who}", figures,
                   target="<= 0.5 x baseline" if page in TARGETED else "report")


if __name__ == "__main__":
    main()
