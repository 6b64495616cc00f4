"""Optional TOTP second factor; required for central roles when the setting says so."""

from __future__ import annotations

import time

import pyotp
from django.test import Client

from accounts.services import totp_begin, totp_verify
from tests.conftest import PASSWORD, Cast


def sign_in(username: str) -> tuple[Client, int, str]:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    return client, response.status_code, response.get("Location", "")


def enrol(user: object) -> pyotp.TOTP:
    secret = totp_begin(user=user)  # type: ignore[arg-type]
    totp = pyotp.TOTP(secret)
    assert totp_verify(user=user, code=totp.now())  # type: ignore[arg-type]
    return totp


def test_an_enrolled_user_needs_a_code_after_the_password(cast: Cast) -> None:
    totp = enrol(cast.hni_responder)
    client, status, location = sign_in("hni.responder")
    assert status == 302 and location.endswith("/accounts/totp/")
    assert "_auth_user_id" not in client.session
    assert client.get("/console/").status_code == 302
    # Enrolment used the current code; the next step's code is within the accepted drift.
    response = client.post("/accounts/totp/", {"code": totp.at(time.time() + 30)})
    assert response.status_code == 302
    assert client.get("/console/").status_code == 200


def test_a_wrong_code_is_refused(cast: Cast) -> None:
    enrol(cast.hni_responder)
    client, _, _ = sign_in("hni.responder")
    assert client.post("/accounts/totp/", {"code": "000000"}).status_code == 400
    assert client.get("/console/").status_code == 302


def test_a_code_is_accepted_only_once(cast: Cast) -> None:
    secret = totp_begin(user=cast.hni_responder)
    code = pyotp.TOTP(secret).now()
    assert totp_verify(user=cast.hni_responder, code=code)
    assert not totp_verify(user=cast.hni_responder, code=code)


def test_users_without_a_second_factor_sign_in_with_the_password(cast: Cast) -> None:
    _, status, location = sign_in("hcm.responder")
    assert status == 302 and "totp" not in location


def test_central_roles_must_enrol_when_the_setting_requires_it(cast: Cast, settings: object) -> None:
    settings.SOC_TOTP_REQUIRED_FOR_CENTRAL = True  # type: ignore[attr-defined]
    client, _status, location = sign_in("analyst")
    assert location.endswith("/accounts/totp/")
    page = client.get("/accounts/totp/").content.decode()
    assert 'id="totp-secret"' in page
    _, _, responder_location = sign_in("hni.responder")
    assert "totp" not in responder_location


def test_the_password_step_expires_after_five_minutes(cast: Cast) -> None:
    enrol(cast.hni_responder)
    client, _, _ = sign_in("hni.responder")
    session = client.session
    session["accounts.pending_user"]["at"] -= 301
    session.save()
    response = client.get("/accounts/totp/")
    assert response.status_code == 302 and response["Location"].endswith("/login/")
