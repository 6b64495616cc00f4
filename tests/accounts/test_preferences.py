"""Language and time zone: remembered per user; dates stored in UTC, shown in the user's zone."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client

from accounts.models import Preference
from incidents.models import Incident
from incidents.services.intake import incident_create
from tests.conftest import Cast


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_the_language_switch_is_remembered_on_the_user(cast: Cast) -> None:
    client = signed_in(cast.hni_responder)
    response = client.post("/accounts/language/", {"language": "en", "next": "/console/"})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert Preference.objects.get(user=cast.hni_responder).language == "en"
    other_device = signed_in(cast.hni_responder)
    page = other_device.get("/console/", HTTP_ACCEPT_LANGUAGE="vi")
    assert page["Content-Language"] == "en" and "Report an incident" in page.content.decode()


def test_vietnamese_is_the_default_language(cast: Cast) -> None:
    page = signed_in(cast.hni_responder).get("/console/").content.decode()
    assert "Báo cáo sự cố" in page


def test_the_language_switch_refuses_unknown_languages_and_foreign_redirects(cast: Cast) -> None:
    client = signed_in(cast.hni_responder)
    response = client.post("/accounts/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert not Preference.objects.filter(user=cast.hni_responder, language="xx").exists()


def test_dates_show_in_ho_chi_minh_time_by_default_and_in_the_users_zone_when_chosen(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="timed")
    Incident.objects.filter(pk=incident.pk).update(created_at=datetime(2026, 11, 28, 1, 30, tzinfo=UTC))
    client = signed_in(cast.hni_responder)
    assert "2026-11-28 08:30" in client.get("/console/").content.decode()
    assert client.post("/accounts/preferences/", {"language": "vi", "time_zone": "UTC"}).status_code == 302
    assert "2026-11-28 01:30" in client.get("/console/").content.decode()


def test_an_unknown_time_zone_is_refused_with_a_message(cast: Cast) -> None:
    client = signed_in(cast.hni_responder)
    response = client.post("/accounts/preferences/", {"language": "vi", "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert not Preference.objects.filter(time_zone="Mars/Olympus").exists()
