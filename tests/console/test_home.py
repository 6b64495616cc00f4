"""The provincial home: my province's open requests for action and open incidents, nobody else's."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from incidents.models import RequestForAction, RequestStatus
from incidents.services.intake import incident_create
from tests.conftest import Cast


def test_home_lists_my_provinces_open_requests_and_incidents_only(cast: Cast) -> None:
    mine = incident_create(province=cast.hni, title="hni-canary-incident")
    theirs = incident_create(province=cast.hcm, title="hcm-canary-incident")
    now = timezone.now()
    RequestForAction.objects.create(incident=mine, province=cast.hni, instructions="hni-canary-request",
                                    due_at=now - timedelta(hours=1))
    RequestForAction.objects.create(incident=mine, province=cast.hni, instructions="hni-done-request",
                                    due_at=now, status=RequestStatus.DONE)
    RequestForAction.objects.create(incident=theirs, province=cast.hcm, instructions="hcm-canary-request", due_at=now)
    client = Client()
    client.force_login(cast.hni_responder)
    body = client.get("/console/").content.decode()
    assert "hni-canary-incident" in body and "hni-canary-request" in body
    assert 'class="overdue"' in body
    assert "hni-done-request" not in body
    assert "hcm-canary" not in body
