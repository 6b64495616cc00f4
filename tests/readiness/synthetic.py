"""Synthetic provinces of known quality: events written exactly as the ingest stores them.

Documents carry what ``collectors.ingest`` adds (``organization.id``, ``agent.id``,
``event.ingested``) and go to the same daily indices, so the readiness
searches read them as they would read real traffic; only the times are chosen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from collectors.models import Collector
from collectors.services import collector_create
from incidents.models import Incident, RequestForAction, Status
from organisations.models import Organisation
from soc import es as soc_es

KIND_DOCS: dict[str, tuple[str, dict[str, Any]]] = {
    "authentication": ("system.auth", {"source.ip": "203.0.113.5", "user.name": "root", "event.outcome": "failure"}),
    "web": ("nginx.access", {"source.ip": "198.51.100.7", "url.original": "/login",
                             "http.response.status_code": 200}),
    "firewall": ("iptables.log", {"source.ip": "192.0.2.1", "destination.ip": "10.0.0.8"}),
    "endpoint": ("windows.sysmon_operational", {"host.name": "ws01", "event.code": "1"}),
    "dns": ("dns.query", {"source.ip": "10.0.0.9", "dns.question.name": "example.org"}),
    "mail": ("postfix.log", {"email.from.address": "a@example.org", "email.to.address": "b@example.org"}),
}
ALL_KINDS = list(KIND_DOCS)


def put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for name in parents:
        doc = doc.setdefault(name, {})
    doc[leaf] = value


@dataclass
class Event:
    collector: Collector
    at: datetime
    dataset: str
    fields: dict[str, Any]
    lag: timedelta = timedelta(seconds=5)

    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"@timestamp": self.at.isoformat(), "message": "synthetic"}
        for name, value in {**self.fields, "event.dataset": self.dataset}.items():
            put(doc, name, value)
        org = self.collector.organisation
        doc["organization"] = {"id": org.code, "name": org.name}
        doc["agent"] = {"id": str(self.collector.uid), "name": self.collector.name, "type": "soc-collector"}
        put(doc, "event.ingested", (self.at + self.lag).isoformat())
        return doc


def collector(org: Organisation, name: str, since: datetime) -> Collector:
    made, _ = collector_create(organisation=org, name=name)
    Collector.objects.filter(pk=made.pk).update(created_at=since)
    made.refresh_from_db()
    return made


def hourly(col: Collector, start: datetime, kinds: Iterable[str], hours: int = 24,
           lag: timedelta = timedelta(seconds=5)) -> list[Event]:
    """One complete event of each kind in every hour, ten minutes past."""
    return [Event(col, start + timedelta(hours=h, minutes=10), KIND_DOCS[k][0], KIND_DOCS[k][1], lag)
            for h in range(hours) for k in kinds]


def generic(col: Collector, start: datetime, per_hour: int, errors_every: int = 0) -> list[Event]:
    """Lines no parser recognised; every ``errors_every``-th one also crashed a parser."""
    out = []
    for n in range(24 * per_hour):
        fields = {"event.original": f"<garbage {n}>"}
        if errors_every and n % errors_every == 0:
            fields["error.message"] = "parser error: ValueError"
        out.append(Event(col, start + timedelta(minutes=60 * n // per_hour + 1), "generic", fields))
    return out


def write(es: Elasticsearch, events: list[Event]) -> None:
    operations: list[dict[str, Any]] = []
    for n, event in enumerate(events):
        index = soc_es.index_name("events", event.at)
        operations += [{"create": {"_index": index, "_id": f"{event.collector.uid}:{n}:{event.at.timestamp()}"}},
                       event.doc()]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], response


def dead_letters(es: Elasticsearch, col: Collector, start: datetime, count: int) -> None:
    operations: list[dict[str, Any]] = []
    for n in range(count):
        at = start + timedelta(minutes=30 * n)
        operations += [{"create": {"_index": soc_es.index_name("deadletter", at), "_id": f"{col.uid}:dl{n}"}},
                       {"@timestamp": at.isoformat(), "error": {"type": "mapper_parsing_exception"},
                        "organization": {"id": col.organisation.code}, "agent": {"id": str(col.uid)},
                        "event": {"original": "{}"}}]
    assert not es.bulk(operations=operations, refresh=True)["errors"]


def incident(org: Organisation, key: str, created: datetime, acknowledged: timedelta, resolved: timedelta,
             ack_due: timedelta = timedelta(hours=4), resolve_due: timedelta = timedelta(hours=72)) -> Incident:
    made = Incident.objects.create(key=key, title=f"synthetic {key}", province=org)
    Incident.objects.filter(pk=made.pk).update(
        created_at=created, status=Status.RESOLVED, acknowledged_at=created + acknowledged,
        resolved_at=created + resolved, ack_due_at=created + ack_due, resolve_due_at=created + resolve_due)
    return made


def request(item: Incident, due: datetime, done: datetime | None) -> RequestForAction:
    return RequestForAction.objects.create(incident=item, province=item.province, instructions="isolate host",
                                           due_at=due, done_at=done, status="done" if done else "open")
