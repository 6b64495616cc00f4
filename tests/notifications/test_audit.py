"""Changes to webhook targets and to notification preferences are in the audit log, with who and from where."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from notifications.models import Kind, WebhookTarget
from organisations.models import AuditLog
from tests.conftest import PASSWORD, Cast


def audited(object_type: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(object_type=object_type).order_by("id"))


@pytest.fixture
def admin_client(cast: Cast) -> Client:
    User.objects.create_superuser("root", "root@example.org", PASSWORD)
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert client.login(username="root", password=PASSWORD)
    return client


def test_changing_preferences_in_the_console_is_audited_with_the_changed_kinds_only(cast: Cast) -> None:
    client = Client(REMOTE_ADDR="198.51.100.9")
    client.force_login(cast.hni_responder)
    wanted = {f"{kind}:in_app": "on" for kind in Kind.values if kind != Kind.SLA_SOON}
    client.post("/notifications/preferences/", {**wanted, f"{Kind.SLA_BREACHED}:email": "on"})
    entries = audited("notification_preference")
    assert {e.object_ref for e in entries} == {f"{cast.hni_responder.pk}:{Kind.SLA_SOON}",
                                               f"{cast.hni_responder.pk}:{Kind.SLA_BREACHED}"}
    soon = next(e for e in entries if e.object_ref.endswith(Kind.SLA_SOON))
    assert (soon.actor_name, soon.ip, soon.organisation.code) == ("hni.responder", "198.51.100.9", "HNI")
    assert soon.before["in_app"] is True and soon.after["in_app"] is False
    client.post("/notifications/preferences/", {**wanted, f"{Kind.SLA_BREACHED}:email": "on"})
    assert len(audited("notification_preference")) == 2, "saving the same choices again is no change"


def test_creating_changing_and_deleting_a_webhook_target_in_the_admin_is_audited(cast: Cast,
                                                                                 admin_client: Client) -> None:
    form = {"organisation": cast.hni.pk, "name": "siem", "url": "https://1.1.1.1/hook",
            "secret": "s3cret-value-1", "enabled": "on", "kinds": "[]"}
    assert admin_client.post("/admin/notifications/webhooktarget/add/", form).status_code == 302
    target = WebhookTarget.objects.get(name="siem")
    admin_client.post(f"/admin/notifications/webhooktarget/{target.pk}/change/",
                      {**form, "url": "https://8.8.8.8/hook", "secret": "s3cret-value-2"})
    admin_client.post(f"/admin/notifications/webhooktarget/{target.pk}/delete/", {"post": "yes"})
    created, changed, deleted = audited("webhook_target")
    assert [e.action for e in (created, changed, deleted)] == [
        "webhook_target.created", "webhook_target.changed", "webhook_target.deleted"]
    assert created.actor_name == "root" and created.ip == "198.51.100.7" and created.organisation.code == "HNI"
    assert changed.before["url"] == "https://1.1.1.1/hook"
    assert changed.after["url"] == "https://8.8.8.8/hook" and changed.after["secret"] == "changed"
    assert all("s3cret" not in str(e.before) + str(e.after) for e in (created, changed, deleted))
    assert not WebhookTarget.objects.filter(pk=target.pk).exists()


def test_a_webhook_target_to_a_private_address_is_refused_in_the_form_and_not_audited(
        cast: Cast, admin_client: Client) -> None:
    answer = admin_client.post("/admin/notifications/webhooktarget/add/", {
        "organisation": cast.hni.pk, "name": "lan", "url": "http://10.0.0.5/hook", "secret": "x",
        "enabled": "on", "kinds": "[]"})
    assert answer.status_code == 200 and "10.0.0.5" in answer.content.decode()
    assert not WebhookTarget.objects.exists() and audited("webhook_target") == []
