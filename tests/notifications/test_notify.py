"""Who is told what: scope, preferences, assignment, mentions, e-mail."""

from __future__ import annotations

from typing import Any

from incidents.models import Incident
from incidents.services.collaboration import comment_add
from incidents.services.intake import incident_create
from notifications.models import ChannelPreference, Kind, Notification
from notifications.services import channel_preference_set, notify
from notifications.tasks import send_notification_email
from organisations.actors import Actor
from tests.conftest import Cast


def told(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def test_a_new_high_severity_incident_tells_its_province_and_the_national_soc(cast: Cast) -> None:
    incident_create(province=cast.hni, title="Ransomware on hni-fs-01", severity="high")
    assert told(Kind.HIGH_INCIDENT) == {"hni.responder", "lead", "analyst"}


def test_a_low_severity_incident_tells_nobody(cast: Cast) -> None:
    incident_create(province=cast.hni, title="port scan", severity="low")
    assert not Notification.objects.exists()


def test_assigning_an_incident_tells_the_assignee(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="t", severity="low")
    incident.assignee = cast.hni_responder
    incident.save()
    assert told(Kind.ASSIGNED) == {"hni.responder"}
    incident.save()
    assert Notification.objects.filter(kind=Kind.ASSIGNED).count() == 1, "re-saving is not a new assignment"


def test_nobody_is_told_about_an_incident_they_may_not_see(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="t", severity="low")
    assert notify(kind=Kind.MENTION, incident=incident, recipients=[cast.hcm_responder]) == []


def test_mentions_name_existing_active_users(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="t", severity="low")
    comment = comment_add(incident=incident, actor=Actor(user=cast.lead),
                          body="@hni.responder please check with @analyst; mail me at x@lead and @nobody")
    users = comment.mentions.all()
    assert {u.get_username() for u in users} == {"hni.responder", "analyst"}


def test_a_user_who_turned_a_kind_off_is_not_told(cast: Cast) -> None:
    channel_preference_set(user=cast.hni_responder, kind=Kind.HIGH_INCIDENT, in_app=False, email=False,
                           actor=Actor.system())
    incident_create(province=cast.hni, title="t", severity="critical")
    assert "hni.responder" not in told(Kind.HIGH_INCIDENT)


def test_e_mail_goes_to_users_who_asked_for_it_once(cast: Cast, mailoutbox: list[Any],
                                                    django_capture_on_commit_callbacks: Any) -> None:
    cast.hni_responder.email = "responder@hni.example"
    cast.hni_responder.save()
    ChannelPreference.objects.create(user=cast.hni_responder, kind=Kind.HIGH_INCIDENT, in_app=True, email=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident_create(province=cast.hni, title="<b>Ransomware</b>", severity="high")
    assert callbacks, "no e-mail was queued"
    note = Notification.objects.get(user=cast.hni_responder)
    send_notification_email(note.pk)
    send_notification_email(note.pk)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["responder@hni.example"] and "<b>Ransomware</b>" in mailoutbox[0].body


def test_the_notifications_page_lists_only_my_notifications(cast: Cast, client: Any) -> None:
    incident_create(province=cast.hni, title="hni-canary", severity="high")
    incident_create(province=cast.hcm, title="hcm-canary", severity="high")
    client.force_login(cast.hni_responder)
    page = client.get("/notifications/").content.decode()
    assert "hni-canary" in page and "hcm-canary" not in page
    client.post("/notifications/read/")
    assert not Notification.objects.filter(user=cast.hni_responder, read_at__isnull=True).exists()


def test_preferences_are_saved_from_the_page(cast: Cast, client: Any) -> None:
    client.force_login(cast.hni_responder)
    client.post("/notifications/preferences/", {f"{Kind.ASSIGNED}:email": "on"})
    pref = ChannelPreference.objects.get(user=cast.hni_responder, kind=Kind.ASSIGNED)
    assert pref.email and not pref.in_app
    assert Incident.objects.count() == 0
