"""One door: the Django admin signs no one in itself, is off in production, and changes nothing unaudited."""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pyotp
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import clear_url_caches

import soc.settings
import soc.urls
from accounts.services import totp_begin, totp_verify
from notifications.models import WebhookTarget
from organisations.models import AuditLog, Membership, Organisation, Role
from soc.admin import ReadOnlyAdmin
from tests.conftest import PASSWORD, Cast

# Admins that write: webhook targets through their audited services (tests/notifications), user accounts
# (no console page yet) with an audit entry for every change the admin logs (below).
WRITES_THROUGH_SERVICES: set[type[Model]] = {WebhookTarget}
AUDITED_HERE: set[type[Model]] = {User}


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


def settings_for(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """soc/settings.py evaluated afresh with this environment (the running settings are not touched)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_under_test", Path(soc.settings.__file__))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def production(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    return settings_for(monkeypatch, SOC_PROFILE="production", DJANGO_SECRET_KEY="p" * 64,
                        DJANGO_ALLOWED_HOSTS="soc.example", **env)


@pytest.fixture
def reloaded_urls() -> Iterator[None]:
    """Lets a test rebuild soc.urls under other settings; the real URLconf is rebuilt afterwards."""
    yield
    importlib.reload(soc.urls)
    clear_url_caches()


def routes() -> set[str]:
    return {str(pattern.pattern) for pattern in soc.urls.urlpatterns}


def test_the_admin_login_page_sends_everyone_to_the_console_sign_in(staff: User) -> None:
    response = Client().get("/admin/login/?next=/admin/organisations/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/organisations/"


def test_a_password_posted_to_the_admin_login_signs_no_one_in(staff: User) -> None:
    client = Client()
    client.post("/admin/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_staff_must_pass_the_second_factor_even_if_never_enrolled(staff: User) -> None:
    client = Client()
    response = client.post("/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"].endswith("/accounts/totp/")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    assert 'id="totp-secret"' in client.get("/accounts/totp/").content.decode()


def test_staff_reach_the_admin_after_the_second_factor(staff: User) -> None:
    totp = pyotp.TOTP(totp_begin(user=staff))
    assert totp_verify(user=staff, code=totp.now())
    client = Client()
    client.post("/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"})
    response = client.post("/accounts/totp/", {"code": totp.at(time.time() + 30)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_is_off_by_default_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    assert production(monkeypatch).SOC_ADMIN_ENABLED is False
    assert production(monkeypatch, SOC_ADMIN_ENABLED="true").SOC_ADMIN_ENABLED is True
    assert settings_for(monkeypatch, SOC_PROFILE="dev").SOC_ADMIN_ENABLED is True


def test_a_switched_off_admin_is_not_routed(settings: object, reloaded_urls: None, client: Client) -> None:
    settings.SOC_ADMIN_ENABLED = False  # type: ignore[attr-defined]
    importlib.reload(soc.urls)
    clear_url_caches()
    assert "admin/" not in routes()
    assert "login/" in routes()


def test_a_switched_on_admin_is_routed(settings: object, reloaded_urls: None) -> None:
    settings.SOC_ADMIN_ENABLED = True  # type: ignore[attr-defined]
    importlib.reload(soc.urls)
    assert "admin/" in routes()


REGISTERED: list[type[Model]] = sorted(admin.site._registry, key=lambda model: str(model))


@pytest.mark.parametrize("model", REGISTERED, ids=str)
def test_every_admin_is_read_only_or_writes_through_services(model: type[Model], staff: User) -> None:
    model_admin = admin.site._registry[model]
    if model in AUDITED_HERE:
        assert type(model_admin).log_change is not admin.ModelAdmin.log_change
        return
    if model in WRITES_THROUGH_SERVICES:
        assert type(model_admin).save_model is not admin.ModelAdmin.save_model
        assert type(model_admin).delete_model is not admin.ModelAdmin.delete_model
        assert type(model_admin).delete_queryset is not admin.ModelAdmin.delete_queryset
        return
    request = RequestFactory().get("/admin/")
    request.user = staff
    assert isinstance(model_admin, ReadOnlyAdmin)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_a_superuser_cannot_change_memberships_or_organisations_in_the_admin(cast: Cast, staff: User) -> None:
    client = Client()
    client.force_login(staff)
    membership = Membership.objects.get(user=cast.hni_responder)
    org = cast.hni
    change = f"/admin/organisations/membership/{membership.pk}/change/"
    assert client.post(change, {"user": membership.user_id, "organisation": org.pk,
                                "role": Role.CENTRAL_LEAD}).status_code == 403
    assert client.post(f"/admin/organisations/organisation/{org.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/organisations/membership/add/").status_code == 403
    assert Membership.objects.get(pk=membership.pk).role == Role.PROVINCIAL_RESPONDER
    assert Organisation.objects.filter(pk=org.pk).exists()


@pytest.mark.parametrize("url", ["/admin/incidents/slapolicy/add/", "/admin/collectors/collector/add/",
                                 "/admin/detection/detectionrule/add/", "/admin/readiness/scoringpolicy/add/",
                                 "/admin/readiness/provincetarget/add/"])
def test_audited_settings_cannot_be_added_in_the_admin(url: str, staff: User) -> None:
    client = Client()
    client.force_login(staff)
    assert client.post(url, {}).status_code == 403


def test_making_a_user_staff_or_resetting_a_password_in_the_admin_is_audited(cast: Cast, staff: User) -> None:
    client = Client()
    client.force_login(staff)
    user = cast.hni_responder
    form = {"username": user.username, "is_active": "on", "is_staff": "on", "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00"}
    assert client.post(f"/admin/auth/user/{user.pk}/change/", form).status_code == 302
    new_password = "another-long-password-2026"
    assert client.post(f"/admin/auth/user/{user.pk}/password/", {
        "password1": new_password, "password2": new_password}).status_code == 302
    entries = list(AuditLog.objects.filter(object_type="user", object_ref=str(user.pk)).order_by("pk"))
    assert [e.action for e in entries] == ["user.changed", "user.changed"]
    assert entries[0].after["is_staff"] is True and entries[0].actor_name == "root"
    assert entries[0].organisation.code == "HNI"
    assert new_password not in str(entries[1].after)
