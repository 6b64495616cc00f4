"""Logout and deactivation close the user's open console sockets, seen from a real WebSocket client.

The console runs in a uvicorn subprocess on this run's database and Redis; a
``websockets`` client holds a socket open with the session cookie, as a
browser tab does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from incidents.consumers import SIGNED_OUT
from tests.browser.conftest import Server
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(scope="module")
def server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(Path(tmp_path_factory.mktemp("web")))
    yield running
    running.stop()


def signed_in(server: Server, username: str) -> requests.Session:
    session = requests.Session()
    token = TOKEN.search(session.get(f"{server.base}/login/", timeout=10).text)
    assert token
    answer = session.post(f"{server.base}/login/", timeout=10, allow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)})
    assert answer.status_code == 302, answer.text[:500]
    return session


def open_socket(server: Server, session: requests.Session) -> ClientConnection:
    cookies = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return connect(f"ws://127.0.0.1:{server.port}/ws/incidents/", open_timeout=10,
                   additional_headers={"Cookie": cookies, "Origin": server.base})


def log_out(server: Server, session: requests.Session) -> None:
    token = TOKEN.search(session.get(f"{server.base}/console/", timeout=10).text)
    assert token
    answer = session.post(f"{server.base}/logout/", timeout=10, allow_redirects=False,
                          data={"csrfmiddlewaretoken": token.group(1)})
    assert answer.status_code in (200, 302)


def closed_with(socket: ClientConnection) -> tuple[list[str], int | None]:
    """The messages received until the server closed the socket, and its close code."""
    kinds = []
    try:
        while True:
            kinds.append(json.loads(socket.recv(timeout=10))["kind"])
    except ConnectionClosed as closed:
        return kinds, closed.rcvd.code if closed.rcvd else None


def still_open(socket: ClientConnection) -> bool:
    try:
        socket.recv(timeout=1)
    except TimeoutError:
        return True
    except ConnectionClosed:
        return False
    return True


def test_logging_out_closes_the_users_sockets_in_every_tab_and_device(server: Server, cast: Cast) -> None:
    laptop, phone, colleague = (signed_in(server, "hni.responder"), signed_in(server, "hni.responder"),
                                signed_in(server, "analyst"))
    with open_socket(server, laptop) as tab, open_socket(server, phone) as other_device, \
            open_socket(server, colleague) as colleagues_tab:
        log_out(server, laptop)
        assert closed_with(tab) == (["session.ended"], SIGNED_OUT)
        assert closed_with(other_device) == (["session.ended"], SIGNED_OUT)
        assert still_open(colleagues_tab)


def test_deactivating_a_user_closes_their_open_socket(server: Server, cast: Cast) -> None:
    session = signed_in(server, "hcm.responder")
    with open_socket(server, session) as tab:
        cast.hcm_responder.is_active = False
        cast.hcm_responder.save()
        assert closed_with(tab) == (["session.ended"], SIGNED_OUT)


def test_a_signed_out_session_cannot_open_a_socket_again(server: Server, cast: Cast) -> None:
    session = signed_in(server, "hni.responder")
    stale = session.cookies.copy()
    log_out(server, session)
    session.cookies = stale
    with pytest.raises(Exception) as refused:
        open_socket(server, session).recv(timeout=5)
    assert "403" in str(refused.value) or isinstance(refused.value, ConnectionClosed)
