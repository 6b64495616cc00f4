"""Signed webhooks: signature, delivery log, retries with give-up, and the SSRF guard."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from incidents.services.intake import incident_create
from notifications import ssrf
from notifications.models import DeliveryStatus, Kind, WebhookDelivery, WebhookTarget
from notifications.services import webhook_attempt, webhooks_dispatch
from notifications.ssrf import UnsafeUrl, webhook_url_check
from notifications.tasks import WEBHOOK_MAX_RETRIES, deliver_webhook
from tests.conftest import Cast
from tests.notifications.conftest import Receiver


def target(cast: Cast, url: str, *, allow_private: bool = True, org: str = "hni") -> WebhookTarget:
    return WebhookTarget.objects.create(organisation=getattr(cast, org), name="siem", url=url,
                                        allow_private=allow_private)


def test_a_delivery_is_signed_with_hmac_sha256_over_timestamp_and_body(cast: Cast, receiver: Receiver) -> None:
    hook = target(cast, receiver.url)
    incident_create(province=cast.hni, title="<script>x</script>", severity="high")
    delivery = WebhookDelivery.objects.get(target=hook, kind=Kind.HIGH_INCIDENT)
    assert webhook_attempt(delivery=delivery)
    [request] = receiver.requests
    expected = hmac.new(hook.secret.encode(), request.headers["X-SOC-Timestamp"].encode() + b"." + request.body,
                        hashlib.sha256).hexdigest()
    assert request.headers["X-SOC-Signature"] == f"sha256={expected}"
    assert json.loads(request.body)["incident"]["title"] == "<script>x</script>"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1 and delivery.response_status == 204


def test_only_webhooks_of_the_incidents_province_and_above_are_called(cast: Cast, receiver: Receiver) -> None:
    target(cast, receiver.url, org="hcm")
    national = target(cast, receiver.url, org="national")
    incident = incident_create(province=cast.hni, title="t", severity="low")
    assert [d.target for d in webhooks_dispatch(kind=Kind.ASSIGNED, incident=incident)] == [national]


def test_a_failing_receiver_is_retried_then_given_up_with_the_log_kept(cast: Cast, receiver: Receiver) -> None:
    receiver.status = 503
    target(cast, receiver.url)
    incident_create(province=cast.hni, title="t", severity="high")
    delivery = WebhookDelivery.objects.get()
    deliver_webhook.apply(args=(delivery.pk,))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == WEBHOOK_MAX_RETRIES + 1 == len(receiver.requests)
    assert delivery.response_status == 503 and "503" in delivery.error


def test_a_delivered_webhook_is_not_sent_again(cast: Cast, receiver: Receiver) -> None:
    target(cast, receiver.url)
    incident_create(province=cast.hni, title="t", severity="high")
    delivery = WebhookDelivery.objects.get()
    deliver_webhook.apply(args=(delivery.pk,))
    deliver_webhook.apply(args=(delivery.pk,))
    assert len(receiver.requests) == 1


def test_a_loopback_target_is_refused_unless_an_admin_allowed_it(cast: Cast, receiver: Receiver) -> None:
    target(cast, receiver.url, allow_private=False)
    incident_create(province=cast.hni, title="t", severity="high")
    delivery = WebhookDelivery.objects.get()
    assert not webhook_attempt(delivery=delivery)
    delivery.refresh_from_db()
    assert "internal address" in delivery.error
    assert receiver.requests == []


def test_a_redirect_to_an_internal_address_is_not_followed(
        cast: Cast, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    # Treat the loopback receiver as a public host so that only the redirect target is internal.
    real = ssrf._is_internal
    monkeypatch.setattr(ssrf, "_is_internal", lambda ip: str(ip) != "127.0.0.1" and real(ip))
    receiver.status, receiver.location = 302, "http://169.254.169.254/latest/meta-data/"
    target(cast, receiver.url, allow_private=False)
    incident_create(province=cast.hni, title="t", severity="high")
    delivery = WebhookDelivery.objects.get()
    assert not webhook_attempt(delivery=delivery)
    delivery.refresh_from_db()
    assert "169.254.169.254" in delivery.error and len(receiver.requests) == 1


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost:8080/x", "http://10.1.2.3/", "http://192.168.0.1/", "http://172.16.5.4/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "http://[fe80::1]/", "ftp://203.0.113.10/", "http://user:pw@93.184.215.14/", "http:///nohost",
    "javascript:alert(1)",
])
def test_internal_or_malformed_webhook_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        webhook_url_check(url)


def test_a_public_address_is_accepted_and_pinned() -> None:
    safe = webhook_url_check("https://93.184.215.14:8443/hooks?x=1")
    assert (safe.address, safe.port, safe.path) == ("93.184.215.14", 8443, "/hooks?x=1")


def test_an_admin_may_allow_a_private_target() -> None:
    assert webhook_url_check("http://10.1.2.3/", allow_private=True).address == "10.1.2.3"
