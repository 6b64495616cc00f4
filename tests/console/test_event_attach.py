"""Adding an event found while hunting to an incident: scoped, permission-checked, recorded by the incident."""

from __future__ import annotations

from django.test import Client

from incidents.models import Comment, Observable
from incidents.services.intake import incident_create
from soc import es as soc_es
from tests.conftest import Cast
from tests.console.conftest import Indexer

URL = "/console/events/attach"


def event_id(message: str) -> str:
    hits = soc_es.client().search(index=soc_es.events_pattern(), query={"match_phrase": {"message": message}})
    return str(hits["hits"]["hits"][0]["_id"])


def post(user: object, **data: str) -> int:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client.post(URL, data).status_code


def test_an_event_is_added_to_an_incident_as_a_comment_with_observables(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="hni-attach-me", source={"ip": "203.0.113.7"}, user={"name": "oracle"})
    incident = incident_create(province=cast.hni, title="t")
    assert post(cast.hni_responder, event=event_id("hni-attach-me 0"), incident=incident.key) == 302
    comment = Comment.objects.get(incident=incident)
    assert "hni-attach-me 0" in comment.body and "203.0.113.7" in comment.body
    kinds = dict(Observable.objects.filter(incident=incident).values_list("kind", "value"))
    assert kinds["ip"] == "203.0.113.7" and kinds["account"] == "oracle"


def test_another_provinces_event_or_incident_is_not_found(cast: Cast, index_events: Indexer) -> None:
    index_events("HCM", message="hcm-secret")
    index_events("HNI", message="hni-event")
    hni_incident = incident_create(province=cast.hni, title="t")
    hcm_incident = incident_create(province=cast.hcm, title="t")
    assert post(cast.hni_responder, event=event_id("hcm-secret 0"), incident=hni_incident.key) == 404
    assert post(cast.hni_responder, event=event_id("hni-event 0"), incident=hcm_incident.key) == 404
    assert post(cast.hni_responder, event="no-such-event", incident=hni_incident.key) == 404
    assert not Comment.objects.exists()


def test_a_role_without_the_right_to_comment_is_refused(cast: Cast, index_events: Indexer) -> None:
    index_events("HNI", message="hni-event")
    incident = incident_create(province=cast.hni, title="t")
    assert post(cast.auditor, event=event_id("hni-event 0"), incident=incident.key) == 403
    assert not Comment.objects.exists()
