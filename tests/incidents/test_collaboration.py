"""Comments with @mentions, observables (normalised, de-duplicated, seen elsewhere), ATT&CK techniques."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Comment, Incident, Observable
from incidents.observables import observable_normalise, pivot_query
from incidents.selectors import observable_list
from incidents.services.collaboration import observable_add
from organisations.actors import Actor
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db


def test_mentions_are_stored_only_for_users_who_can_see_the_incident(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]

    body = api(cast.analyst).post(f"/api/v1/incidents/{incident.key}/comments/", {
        "body": "@hni.responder please isolate the host; cc @lead and @hcm.responder @nobody"}).json()

    assert sorted(body["mentions"]) == ["hni.responder", "lead"]
    assert Comment.objects.get().mentions.count() == 2


def test_an_empty_comment_is_refused(cast: Cast, api: Callable[..., Api],
                                     make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]

    assert api(cast.analyst).post(f"/api/v1/incidents/{incident.key}/comments/", {"body": "  "}).status_code == 400


@pytest.mark.parametrize("kind, raw, normal", [
    ("ip", " 2001:DB8::1 ", "2001:db8::1"),
    ("domain", "Example.COM.", "example.com"),
    ("domain", "bücher.de", "xn--bcher-kva.de"),
    ("url", "HTTP://Evil.Example:8080/a?b=1#frag", "http://evil.example:8080/a?b=1"),
    ("hash", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    ("email", "Alice@Example.COM", "Alice@example.com"),
    ("host", "WEB01.hni.gov.vn", "web01.hni.gov.vn"),
    ("account", "CORP\\Alice", "corp\\alice"),
    ("account", "root", "root"),
])
def test_observables_are_normalised(kind: str, raw: str, normal: str) -> None:
    assert observable_normalise(kind, raw) == normal


@pytest.mark.parametrize("kind, raw", [("ip", "999.1.1.1"), ("hash", "xyz"), ("url", "javascript:alert(1)"),
                                       ("email", "no-at-sign"), ("domain", "a b"), ("nope", "x"), ("ip", "")])
def test_malformed_observables_are_refused_with_a_reason(kind: str, raw: str) -> None:
    with pytest.raises(ValidationError):
        observable_normalise(kind, raw)


def test_the_same_observable_is_kept_once_per_incident(cast: Cast, api: Callable[..., Api],
                                                       make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    analyst = api(cast.analyst)
    path = f"/api/v1/incidents/{incident.key}/observables/"

    first = analyst.post(path, {"kind": "ip", "value": "198.51.100.7"})
    again = analyst.post(path, {"kind": "ip", "value": " 198.51.100.7"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert Observable.objects.filter(incident=incident).count() == 1


def test_seen_in_other_incidents_counts_only_what_the_user_may_see_in_one_query(
        cast: Cast, make_incidents: Callable[..., list[Incident]]) -> None:
    here, *others = make_incidents(4)
    (theirs,) = make_incidents(1, province=cast.hcm)
    for incident in [here, *others, theirs]:
        observable_add(incident=incident, kind="ip", value="198.51.100.7", actor=Actor.system())
    observable_add(incident=here, kind="domain", value="only-here.example", actor=Actor.system())

    with CaptureQueriesContext(connection) as queries:
        seen = {o.value: o.seen_elsewhere for o in observable_list(user=cast.hni_responder,  # type: ignore[attr-defined]
                                                                    incident=here)}
    national = {o.value: o.seen_elsewhere for o in observable_list(user=cast.analyst,  # type: ignore[attr-defined]
                                                                   incident=here)}

    # The list, one aggregate for every "seen elsewhere" count, and the scope lookups: not one per observable.
    assert seen == {"198.51.100.7": 3, "only-here.example": 0} and len(queries) <= 5
    assert national["198.51.100.7"] == 4


def test_attack_techniques_are_validated_and_normalised(cast: Cast, api: Callable[..., Api],
                                                        make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    analyst = api(cast.analyst)

    good = analyst.patch(f"/api/v1/incidents/{incident.key}/", {"mitre_techniques": ["t1110.001", "T1078"]})
    bad = analyst.patch(f"/api/v1/incidents/{incident.key}/", {"mitre_techniques": ["T1110", "Brute force"]})

    assert good.json()["mitre_techniques"] == ["T1078", "T1110.001"]
    assert bad.status_code == 400 and "Brute force" in bad.json()["error"]["message"]


def test_hostile_comment_and_observable_text_is_escaped_on_the_page(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    analyst = api(cast.analyst)
    analyst.post(f"/api/v1/incidents/{incident.key}/comments/", {"body": "<script>alert(1)</script>"})
    analyst.post(f"/api/v1/incidents/{incident.key}/observables/", {"kind": "account", "value": "<img src=x>"})

    page = analyst.client.get(f"/incidents/{incident.key}/").content.decode()

    assert "<script>alert(1)" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x&gt;" in page


def test_an_observable_pivots_to_event_search_with_its_value_quoted(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    observable_add(incident=incident, kind="account", value='ro"ot', actor=Actor.system())

    page = api(cast.analyst).client.get(f"/incidents/{incident.key}/").content.decode()

    assert pivot_query("account", 'ro"ot') == 'user.name:"ro\\"ot"'
    assert pivot_query("ip", "198.51.100.7") == 'source.ip:"198.51.100.7" OR destination.ip:"198.51.100.7"'
    assert "/console/events/?q=user.name%3A%22ro%5C%22ot%22" in page
