"""Session hygiene: a new session on sign-in; logout and deactivation end every session of the user."""

from __future__ import annotations

from django.test import Client

from tests.conftest import PASSWORD, Cast


def signed_in(username: str) -> Client:
    client = Client()
    assert client.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def can_see_the_console(client: Client) -> bool:
    return client.get("/console/").status_code == 200


def test_signing_in_gives_a_new_session_key(cast: Cast) -> None:
    client = Client()
    client.get("/login/")
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    client.post("/login/", {"username": "analyst", "password": PASSWORD})
    assert client.session.session_key != before


def test_logging_out_ends_the_users_sessions_on_every_device(cast: Cast) -> None:
    laptop, phone = signed_in("hni.responder"), signed_in("hni.responder")
    other = signed_in("analyst")
    assert can_see_the_console(laptop) and can_see_the_console(phone)
    laptop.post("/logout/")
    assert not can_see_the_console(laptop)
    assert not can_see_the_console(phone)
    assert can_see_the_console(other)


def test_deactivating_a_user_ends_their_sessions(cast: Cast) -> None:
    client = signed_in("hcm.responder")
    cast.hcm_responder.is_active = False
    cast.hcm_responder.save()
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=client.session.session_key).exists()
    assert not can_see_the_console(client)
