"""One time convention: what a person reads is in their zone with the zone shown; machines get UTC.

Descriptions of detection incidents are no longer stored with UTC stamps: the facts stay on the alerts and the
incident page renders them for the reader; older stored descriptions still read in the reader's zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from accounts.services import preference_update
from accounts.times import local_stamp, utc_stamps_localised
from detection.alerts import alert_raise
from detection.engine import ORG, Finding
from detection.models import DetectionRule
from incidents.models import Incident
from incidents.services.intake import incident_create
from notifications.models import Kind, Notification
from notifications.tasks import send_notification_email
from tests.conftest import Cast

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)")
MOMENT = datetime(2026, 12, 4, 11, 0, 11, tzinfo=UTC)


def page_of(user: Any, path: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def detected_incident(cast: Cast) -> Incident:
    rule = DetectionRule.objects.create(name="SSH brute force", kind="threshold", severity="high",
                                        description="Many failed SSH logins from one source.")
    alert_raise(rule=rule, finding=Finding(group={ORG: "HNI", "source.ip": "203.0.113.9"}, first=MOMENT,
                                           last=MOMENT + timedelta(minutes=4), count=37, key="one"))
    return Incident.objects.get(province=cast.hni)


def test_a_moment_reads_in_the_given_zone_with_the_zone_shown() -> None:
    assert local_stamp(MOMENT, zone=ZoneInfo("UTC")) == "2026-12-04 11:00 UTC"
    assert local_stamp(MOMENT, zone=ZoneInfo("Europe/Paris")) == "2026-12-04 12:00 CET"
    assert local_stamp(MOMENT, zone=timezone.get_default_timezone(), seconds=True) == "2026-12-04 18:00:11 +07"


def test_the_when_filter_shows_local_time_and_keeps_utc_for_machines() -> None:
    html = Template('{% load times %}{{ t|when }}|{{ none|when|default:"—" }}').render(Context({"t": MOMENT}))
    assert html == '<time datetime="2026-12-04T11:00:11Z">2026-12-04 18:00 +07</time>|—'


def test_a_user_in_another_zone_reads_every_time_in_it(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="timed")
    Incident.objects.filter(pk=incident.pk).update(created_at=MOMENT)
    preference_update(user=cast.hni_responder, language="en", time_zone="Europe/Paris")

    assert "2026-12-04 12:00 CET" in page_of(cast.hni_responder, "/incidents/")
    assert "2026-12-04 12:00 CET" in page_of(cast.hni_responder, "/console/")
    assert 'data-time-zone="Europe/Paris"' in page_of(cast.hni_responder, "/incidents/")


def test_a_detection_incident_stores_no_utc_stamp_and_shows_its_facts_in_the_readers_zone(cast: Cast, es: Any) -> None:
    incident = detected_incident(cast)

    assert not ISO_UTC.search(incident.description)
    assert incident.description == "Many failed SSH logins from one source."
    page = page_of(cast.hni_responder, f"/incidents/{incident.key}/")
    detected = page[page.index('<ul class="detected">'):]
    detected = detected[:detected.index("</ul>")]
    assert "37" in detected and "203.0.113.9" in detected
    assert "2026-12-04 18:00:11 +07" in detected and "2026-12-04 18:04:11 +07" in detected


def test_an_older_description_with_utc_stamps_reads_in_the_readers_zone(cast: Cast, es: Any) -> None:
    incident = detected_incident(cast)
    Incident.objects.filter(pk=incident.pk).update(description=(
        "SSH brute force: 37 matching events between 2026-12-04T11:00:11.000Z and 2026-12-04T11:04:11.000Z "
        "(source.ip=203.0.113.9)."))

    page = page_of(cast.hni_responder, f"/incidents/{incident.key}/")
    description = page[page.index('<p class="description">'):]
    description = description[:description.index("</p>")]
    assert "between 2026-12-04 18:00:11 +07 and 2026-12-04 18:04:11 +07" in description
    assert not ISO_UTC.search(description)


def test_the_timeline_reads_recorded_times_in_the_readers_zone() -> None:
    text = "{'due_at': '2026-12-04T11:00:11.147710+00:00', 'priority': 'high'}"
    assert utc_stamps_localised(text, zone=timezone.get_default_timezone()) == (
        "{'due_at': '2026-12-04 18:00:11 +07', 'priority': 'high'}")


def test_the_api_answers_in_utc_whatever_the_users_zone(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="timed")
    Incident.objects.filter(pk=incident.pk).update(created_at=MOMENT)
    preference_update(user=cast.hni_responder, language="vi", time_zone="Europe/Paris")
    client = Client()
    client.force_login(cast.hni_responder)
    body = client.get(f"/api/v1/incidents/{incident.key}/").json()
    assert body["created_at"] in ("2026-12-04T11:00:11Z", "2026-12-04T11:00:11+00:00")


def test_a_notification_e_mail_says_when_in_the_recipients_zone(cast: Cast, mailoutbox: list[Any]) -> None:
    cast.hni_responder.email = "responder@hni.example"
    cast.hni_responder.save()
    preference_update(user=cast.hni_responder, language="vi", time_zone="Europe/Paris")
    incident = incident_create(province=cast.hni, title="Ransomware")
    note = Notification.objects.create(user=cast.hni_responder, kind=Kind.HIGH_INCIDENT, incident=incident,
                                       text="High incident: HNI-1 Ransomware")
    Notification.objects.filter(pk=note.pk).update(created_at=MOMENT)

    send_notification_email(note.pk)

    assert mailoutbox[0].body.endswith("2026-12-04 12:00 CET")
