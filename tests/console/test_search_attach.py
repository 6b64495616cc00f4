"""A whole search added to an incident: what it asks, its count, a link, its first events and their observables."""

from __future__ import annotations

from urllib.parse import quote

from django.test import Client

from incidents.models import Comment, Observable
from incidents.observables import pivot_query
from incidents.services.intake import incident_create
from tests.conftest import Cast
from tests.console.conftest import Indexer

URL = "/console/events/attach-search"


def post(user: object, **data: str) -> int:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client.post(URL, data).status_code


def test_the_search_and_its_first_events_are_added(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 25, message="brute", host="web-01", source={"ip": "203.0.113.7"}, user={"name": "root"})
    index_events("HNI", 3, message="other", host="db-01")
    incident = incident_create(province=cast.hni, title="t")
    assert post(cast.hni_responder, incident=incident.key, search="q=brute&range=24h&f=host.name%3Aweb-01") == 302
    body = Comment.objects.get(incident=incident).body
    assert "Event search: brute · host.name = web-01" in body and "Matching events: 25" in body
    assert "/console/events/?q=brute&range=24h&f=host.name%3Aweb-01" in body
    assert body.count("\n- ") == 20 and "other" not in body
    observables = set(Observable.objects.filter(incident=incident).values_list("kind", "value"))
    assert observables == {("ip", "203.0.113.7"), ("account", "root"), ("host", "web-01")}


def test_another_provinces_events_are_not_attached(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 2, message="mine")
    index_events("HCM", 2, message="hcm-secret", source={"ip": "198.51.100.9"})
    incident = incident_create(province=cast.hni, title="t")
    assert post(cast.hni_responder, incident=incident.key, search="q=*") == 302
    body = Comment.objects.get(incident=incident).body
    assert "Matching events: 2" in body and "hcm-secret" not in body
    assert not Observable.objects.filter(value="198.51.100.9").exists()


def test_another_provinces_incident_is_not_found_and_an_auditor_is_refused(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 1)
    hcm_incident = incident_create(province=cast.hcm, title="t")
    hni_incident = incident_create(province=cast.hni, title="t")
    assert post(cast.hni_responder, incident=hcm_incident.key, search="q=*") == 404
    assert post(cast.auditor, incident=hni_incident.key, search="q=*") == 403
    assert post(cast.hni_responder, incident=hni_incident.key, search="q=/regex/") == 400
    assert not Comment.objects.exists()


def test_the_observables_of_an_attached_search_pivot_back_to_its_events(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", 4, message="brute", host="web-01", source={"ip": "203.0.113.7"})
    index_events("HNI", 2, message="noise", host="web-02", source={"ip": "203.0.113.8"})
    incident = incident_create(province=cast.hni, title="t")
    post(cast.hni_responder, incident=incident.key, search="q=brute")
    client = Client()
    client.force_login(cast.hni_responder)
    page = client.get(f"/incidents/{incident.key}/").content.decode()
    ip = Observable.objects.get(incident=incident, kind="ip")
    link = "/console/events/?q=" + quote(pivot_query("ip", ip.value), safe="")
    assert link in page  # the incident page's own pivot link
    pivoted = client.get(link)
    assert pivoted.context["page"].total == 4
    hosts = {row.summary.name: [v.value for v in row.values] for row in pivoted.context["sidebar_rows"]}["host.name"]
    assert hosts == ["web-01"]
