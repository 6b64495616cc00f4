"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a real uvicorn.

The page server is a uvicorn subprocess on this run's test database, Redis
and Elasticsearch namespace; the test process writes data (incidents, events
through the real ingest endpoint) and the browser reads it. Every page gets an
init script that records CSP violations and lets tests check that no payload
ever ran (``window.__xss``); dialogs are recorded too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "web.log"
        env = {**os.environ, "SOC_PROFILE": "test", "SOC_NAMESPACE": settings.NAMESPACE,
               "POSTGRES_DB": connection.settings_dict["NAME"]}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "soc.serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
                cwd=ROOT, env=env, stdout=out, stderr=out)
        self._wait()

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/login/", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        raise AssertionError(f"uvicorn did not answer:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Watch:
    """What a page did that it must not: dialogs opened, console errors."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        def on_console(message: Any) -> None:
            # Failed loads are checked by URL below (a browser asks for /favicon.ico on its own).
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.console_errors.append(message.text)

        def on_response(response: Any) -> None:
            if response.status >= 400 and not response.url.endswith("/favicon.ico"):
                self.failed_responses.append(f"{response.status} {response.url}")

        page.on("console", on_console)
        page.on("response", on_response)

    def assert_clean(self) -> None:
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        assert not self.console_errors, self.console_errors
        assert not self.failed_responses, self.failed_responses


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop in this thread; the ORM calls here are still synchronous.

    Autouse, so it is set up first and undone last, after the database teardown.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module, so Playwright's event loop is gone before tests of other folders run."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def committed_data(transactional_db: None, es: Any) -> None:
    """The page server is another process: data must be committed, and each test starts empty."""


@pytest.fixture(scope="session")
def server(django_db_setup: None, es_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One page server for the run (starting uvicorn costs seconds); it holds no state of its own between tests."""
    running = Server(tmp_path_factory.mktemp("web"))
    yield running
    running.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    ctx.add_init_script(WATCH)
    yield ctx
    ctx.close()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(context: BrowserContext, watch: Watch) -> Page:
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    watch.attach(tab)
    return tab


def sign_in(page: Page, server: Server, username: str, password: str) -> None:
    page.goto(f"{server.base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def off_loop(func: Callable[..., T], **kwargs: Any) -> T:
    """Run ``func`` in a worker thread: Playwright's loop in this thread blocks async_to_sync (live broadcasts)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(_closing_connection, func, kwargs).result(timeout=60)
    return result


def _closing_connection(func: Callable[..., T], kwargs: dict[str, Any]) -> T:
    try:
        return func(**kwargs)
    finally:
        connection.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
