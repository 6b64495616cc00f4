"""Sign-in throttling: per account and per client address, progressive, never permanent."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.test import Client, RequestFactory

from accounts import throttle
from tests.conftest import PASSWORD, Cast

URL = "/login/"


def attempt(client: Client, username: str, password: str, ip: str = "198.51.100.7") -> int:
    return client.post(URL, {"username": username, "password": password}, REMOTE_ADDR=ip).status_code


def test_five_wrong_passwords_make_the_account_wait_even_with_the_right_one(cast: Cast) -> None:
    client = Client()
    for _ in range(5):
        assert attempt(client, "hni.responder", "wrong-password") == 200
    response = client.post(URL, {"username": "hni.responder", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_wait_ends_so_there_is_no_permanent_lockout(cast: Cast) -> None:
    client = Client()
    for _ in range(5):
        attempt(client, "hni.responder", "wrong-password")
    assert throttle.wait_seconds(username="hni.responder", ip="198.51.100.7") > 0
    assert attempt(client, "hni.responder", PASSWORD) == 429
    key = throttle._keys("hni.responder", "198.51.100.7")[0][1]
    cache.set(f"{key}:t", time.time() - 3600)  # an hour has passed since the last failure
    assert attempt(client, "hni.responder", PASSWORD) == 302


def test_delays_grow_with_each_failure_up_to_a_cap() -> None:
    delays = [throttle.ACCOUNT.delay(n) for n in range(4, 30)]
    assert delays[0] == 0 and delays[1] == 1 and delays[2] == 2 and delays[3] == 4
    assert max(delays) == throttle.ACCOUNT.cap


def test_the_same_account_is_throttled_from_a_new_address(cast: Cast) -> None:
    client = Client()
    for n in range(5):
        attempt(client, "hni.responder", "wrong-password", ip=f"198.51.100.{n}")
    assert attempt(client, "hni.responder", PASSWORD, ip="203.0.113.50") == 429


def test_one_address_guessing_many_accounts_is_throttled(cast: Cast) -> None:
    client = Client()
    for n in range(20):
        attempt(client, f"nobody-{n}", "wrong-password", ip="203.0.113.9")
    assert attempt(client, "analyst", PASSWORD, ip="203.0.113.9") == 429
    assert attempt(client, "analyst", PASSWORD, ip="203.0.113.10") == 302


def test_a_successful_sign_in_clears_the_accounts_failures(cast: Cast) -> None:
    client = Client()
    for _ in range(4):
        attempt(client, "lead", "wrong-password")
    assert attempt(client, "lead", PASSWORD) == 302
    assert throttle.wait_seconds(username="lead", ip="192.0.2.1") == 0


def test_the_client_address_comes_from_remote_addr_unless_a_proxy_header_is_trusted(settings: object) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.23")
    settings.SOC_TRUSTED_PROXY_HEADER = ""  # type: ignore[attr-defined]
    assert throttle.client_ip(request) == "10.0.0.2"
    settings.SOC_TRUSTED_PROXY_HEADER = "X-Forwarded-For"  # type: ignore[attr-defined]
    assert throttle.client_ip(request) == "198.51.100.23"


def test_a_throttled_attempt_does_not_check_the_password(cast: Cast, monkeypatch: object) -> None:
    client = Client()
    for _ in range(5):
        attempt(client, "hni.responder", "wrong-password")
    checked: list[str] = []
    from django.contrib.auth import backends

    original = backends.ModelBackend.authenticate

    def spy(self: object, request: object, username: str | None = None, **kwargs: object) -> object:
        checked.append(str(username))
        return original(self, request, username=username, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backends.ModelBackend, "authenticate", spy)  # type: ignore[attr-defined]
    assert attempt(client, "hni.responder", PASSWORD) == 429
    assert checked == []
