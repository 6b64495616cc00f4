"""Service accounts authenticate with tokens stored only as sha256; scope and role still apply."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from incidents.services.intake import incident_create
from organisations.actors import Actor
from organisations.models import ApiToken, AuditLog, Role
from organisations.services import api_token_create, api_token_revoke, user_with_role
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(cast: Cast) -> tuple[User, str]:
    user = user_with_role(username="siem.bridge", password=PASSWORD, organisation=cast.hni, role=Role.SERVICE)
    assert isinstance(user, User)
    _, secret = api_token_create(user=user, name="SIEM bridge", actor=Actor(user=cast.lead))
    return user, secret


def test_only_the_sha256_of_a_token_is_stored(integration: tuple[User, str]) -> None:
    _, secret = integration
    token = ApiToken.objects.get()

    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.digest, token.prefix, token.name} and len(token.prefix) < len(secret) // 4


def test_a_token_reads_its_province_only(integration: tuple[User, str], cast: Cast) -> None:
    _, secret = integration
    incident_create(province=cast.hni, title="ours")
    incident_create(province=cast.hcm, title="theirs")

    body = Client().get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Token {secret}").json()

    assert [row["title"] for row in body["results"]] == ["ours"]
    assert ApiToken.objects.get().last_used_at is not None


def test_a_service_account_files_incidents_but_cannot_close_them(integration: tuple[User, str], cast: Cast) -> None:
    _, secret = integration
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    filed = client.post("/api/v1/incidents/", {
        "province": "HNI", "title": "From the SIEM", "description": "correlated", "contact": "soc@hni"},
        content_type="application/json")
    closing = client.post(f"/api/v1/incidents/{filed.json()['key']}/status/",
                          {"status": "closed", "resolution_summary": "x"}, content_type="application/json")

    assert filed.status_code == 201 and closing.status_code == 403


@pytest.mark.parametrize("header", ["Token not-a-real-token", "Token", "Bearer a b"])
def test_a_bad_or_malformed_token_is_refused_with_the_error_body(header: str) -> None:
    response = Client().get("/api/v1/incidents/", HTTP_AUTHORIZATION=header)

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_token_stops_working(integration: tuple[User, str]) -> None:
    _, secret = integration
    api_token_revoke(token=ApiToken.objects.get(), actor=Actor.system())

    assert Client().get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Token {secret}").status_code in (401, 403)


def test_the_command_prints_a_working_secret_once_for_service_accounts_only(
        integration: tuple[User, str], cast: Cast) -> None:
    out = io.StringIO()
    call_command("api_token_create", "siem.bridge", "second bridge", stdout=out)
    secret = out.getvalue().strip()

    assert Client().get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 200
    with pytest.raises(CommandError, match="no service-account membership"):
        call_command("api_token_create", "analyst", "nope")


def test_the_revoke_command_stops_the_token_at_once_and_is_audited(integration: tuple[User, str]) -> None:
    _, secret = integration
    out = io.StringIO()
    call_command("api_token_revoke", "siem.bridge", "--all", stdout=out)

    assert "revoked 1 token" in out.getvalue()
    assert Client().get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Token {secret}").status_code in (401, 403)
    entry = AuditLog.objects.get(action="api_token.revoked")
    assert entry.actor_name and entry.before["user"] == "siem.bridge"
    with pytest.raises(CommandError, match="no active token"):
        call_command("api_token_revoke", "siem.bridge", "--all")
