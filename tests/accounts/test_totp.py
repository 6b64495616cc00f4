"""TOTP second factor: optional unless the user's role requires it; wrong codes counted apart from passwords."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from accounts import throttle
from accounts.services import totp_begin, totp_verify
from organisations.models import Role
from organisations.services import user_with_role
from tests.accounts.test_admin_door import production
from tests.conftest import PASSWORD, Cast

PRODUCTION_ROLES = ["central_lead", "central_analyst", "auditor", "provincial_admin"]


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
    settings.SOC_TOTP_REQUIRED_ROLES = ["central_lead", "central_analyst", "auditor"]  # type: ignore[attr-defined]
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


def wrong_code(client: Client) -> int:
    return client.post("/accounts/totp/", {"code": "000000"}, REMOTE_ADDR="198.51.100.7").status_code


def test_a_correct_password_does_not_reset_the_count_of_wrong_codes(cast: Cast) -> None:
    totp = enrol(cast.hni_responder)
    client, _, _ = sign_in("hni.responder")
    for _ in range(4):
        assert wrong_code(client) == 400
    client, _, _ = sign_in("hni.responder")
    assert wrong_code(client) == 400
    response = client.post("/accounts/totp/", {"code": totp.at(time.time() + 30)})
    assert response.status_code == 429
    assert client.get("/console/").status_code == 302


def test_wrong_codes_lock_the_second_step_for_a_window_then_it_opens(cast: Cast) -> None:
    totp = enrol(cast.hni_responder)
    client, _, _ = sign_in("hni.responder")
    for _ in range(5):
        wrong_code(client)
    assert throttle.totp_wait_seconds(username="hni.responder", ip="192.0.2.1") > 60
    assert client.post("/accounts/totp/", {"code": totp.at(time.time() + 30)}).status_code == 429
    key = f"{throttle.TOTP.prefix}:{throttle.account_hash('hni.responder')}"
    cache.set(f"{key}:t", time.time() - throttle.TOTP.cap - 1)  # the window has passed
    assert client.post("/accounts/totp/", {"code": totp.at(time.time() + 30)}).status_code == 302
    assert client.get("/console/").status_code == 200


def test_wrong_codes_do_not_slow_the_password_step(cast: Cast) -> None:
    enrol(cast.hni_responder)
    client, _, _ = sign_in("hni.responder")
    for _ in range(5):
        wrong_code(client)
    assert throttle.wait_seconds(username="hni.responder", ip="192.0.2.1") == 0


def test_production_requires_a_code_of_central_roles_and_provincial_admins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sorted(production(monkeypatch).SOC_TOTP_REQUIRED_ROLES) == sorted(PRODUCTION_ROLES)
    changed = production(monkeypatch, SOC_TOTP_REQUIRED_ROLES="central_lead, provincial_responder")
    assert changed.SOC_TOTP_REQUIRED_ROLES == ["central_lead", "provincial_responder"]


def test_a_provincial_admin_must_enrol_under_the_production_roles(cast: Cast, settings: object) -> None:
    settings.SOC_TOTP_REQUIRED_ROLES = PRODUCTION_ROLES  # type: ignore[attr-defined]
    user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni, role=Role.PROVINCIAL_ADMIN)
    client, _, location = sign_in("hni.admin")
    assert location.endswith("/accounts/totp/") and "_auth_user_id" not in client.session
    assert 'id="totp-secret"' in client.get("/accounts/totp/").content.decode()
    _, _, responder_location = sign_in("hni.responder")
    assert "totp" not in responder_location


def test_a_signed_in_user_who_now_needs_a_code_is_sent_to_enrol_first(cast: Cast, settings: object) -> None:
    client = Client()
    client.force_login(cast.analyst)  # signed in before the requirement
    settings.SOC_TOTP_REQUIRED_ROLES = PRODUCTION_ROLES  # type: ignore[attr-defined]
    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"] == "/accounts/totp/?next=/console/"
    page = client.get("/accounts/totp/?next=/console/").content.decode()
    assert 'id="totp-secret"' in page
    totp = pyotp.TOTP(totp_begin(user=cast.analyst))
    response = client.post("/accounts/totp/?next=/console/", {"code": totp.now()})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_users_the_setting_does_not_name_are_not_sent_to_enrol(cast: Cast, settings: object) -> None:
    settings.SOC_TOTP_REQUIRED_ROLES = PRODUCTION_ROLES  # type: ignore[attr-defined]
    client = Client()
    client.force_login(cast.hni_responder)
    assert client.get("/console/").status_code == 200


def test_unknown_role_names_in_the_setting_fail_the_checks(settings: object) -> None:
    from accounts.checks import check_totp_roles

    settings.SOC_TOTP_REQUIRED_ROLES = ["central-lead"]  # type: ignore[attr-defined]
    assert [e.id for e in check_totp_roles(None)] == ["accounts.E001"]
    settings.SOC_TOTP_REQUIRED_ROLES = PRODUCTION_ROLES  # type: ignore[attr-defined]
    assert check_totp_roles(None) == []


def test_staff_accounts_always_need_a_code(db: None) -> None:
    from accounts.selectors import totp_required

    assert totp_required(User.objects.create_user("ops", is_staff=True))
    assert not totp_required(User.objects.create_user("plain"))
