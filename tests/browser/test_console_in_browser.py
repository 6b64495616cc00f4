"""The console in headless Chromium: sign-in in both languages, live arrival, hunting, dashboards."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from incidents.services.intake import incident_create
from soc import es as soc_es
from tests.browser.conftest import Server, Watch, off_loop, screenshot, sign_in
from tests.conftest import PASSWORD, Cast, EnrolledCollector

pytestmark = pytest.mark.browser


def ingest(server: Server, collector: EnrolledCollector, lines: list[str], host: str = "hni-web-01") -> None:
    """Ship raw log lines through the real ingest endpoint, as a collector does."""
    body = json.dumps({"events": [{"id": f"browser:{n}", "raw": line, "host": host}
                                  for n, line in enumerate(lines)]}).encode()
    request = urllib.request.Request(f"{server.base}/api/v1/ingest/events", data=body, method="POST", headers={
        "Authorization": f"Bearer {collector.secret}", "Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(request, timeout=30))
    assert all(item["status"] == "created" for item in answer["results"]), answer
    soc_es.client().indices.refresh(index=soc_es.events_pattern())


def sshd_lines(users: list[str]) -> list[str]:
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%b %e %H:%M:%S")
    return [f"{now} hni-web-01 sshd[{900 + n}]: Invalid user {user} from 203.0.113.{n + 1} port {41000 + n}"
            for n, user in enumerate(users)]


def test_signing_in_in_vietnamese_then_switching_to_english(server: Server, cast: Cast, page: Page,
                                                            watch: Watch) -> None:
    page.goto(f"{server.base}/login/")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/console/")
    expect(page.locator("#report-incident")).to_have_text("Báo cáo sự cố")
    screenshot(page, "home-vi")
    page.click("form.language button[value=en]")
    expect(page.locator("#report-incident")).to_have_text("Report an incident")
    page.click("form.logout button")
    page.goto(f"{server.base}/login/")
    expect(page.locator("h1")).to_have_text("Sign in")
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/console/")
    expect(page.locator("#report-incident")).to_have_text("Report an incident")
    screenshot(page, "home-en")
    watch.assert_clean()


def test_a_new_incident_arrives_live_in_the_open_console(server: Server, cast: Cast, page: Page) -> None:
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/incidents/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    incident = off_loop(incident_create, province=cast.hni, title="Live arrival 203.0.113.77", severity="high")
    expect(page.locator(f'tr[data-key="{incident.key}"]')).to_contain_text("Live arrival 203.0.113.77")
    screenshot(page, "incidents-live")


def test_event_search_with_a_drill_down(server: Server, cast: Cast, hni_collector: EnrolledCollector,
                                        page: Page, watch: Watch) -> None:
    ingest(server, hni_collector, sshd_lines(["admin", "oracle", "admin", "test"]))
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/console/events/?range=1h")
    expect(page.locator("#hit-count")).to_contain_text("4")
    # One-minute buckets over the hour (61 when the hour does not start on a minute boundary).
    expect(page.locator("#histogram")).to_have_attribute("data-drawn", re.compile(r"^6[01]$"))
    page.locator("details.event summary").first.click()
    row = page.locator("details.event[open] table.fields tr", has=page.locator("th", has_text="user.name"))
    user = row.locator(".value").inner_text()
    row.locator("a.pivot").first.click()
    expect(page.locator("#active-filters")).to_contain_text(f"user.name = {user}")
    expected = 2 if user == "admin" else 1
    expect(page.locator("#hit-count")).to_contain_text(str(expected))
    assert page.locator("tr.event-row").count() == expected
    screenshot(page, "event-search")
    with page.expect_download() as download:
        page.click("#export-link")
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + expected and rows[0].startswith("@timestamp,")
    expect(page.locator("#export-progress")).to_have_attribute("data-state", "done")
    expect(page.locator("#export-progress")).to_contain_text(str(expected))
    watch.assert_clean()


def test_the_dashboard_draws_its_charts_from_real_data(server: Server, cast: Cast, hni_collector: EnrolledCollector,
                                                       page: Page, watch: Watch) -> None:
    off_loop(incident_create, province=cast.hni, title="Brute force", severity="high")
    off_loop(incident_create, province=cast.hni, title="Scan", severity="low")
    ingest(server, hni_collector, sshd_lines(["a", "b", "c"]))
    sign_in(page, server, "analyst", PASSWORD)
    page.goto(f"{server.base}/console/dashboard/")
    expect(page.locator('canvas[data-chart="severity"]')).to_have_attribute("data-drawn", "2")
    expect(page.locator('canvas[data-chart="events"]')).to_have_attribute("data-drawn", "24")
    # Twelve weeks of MTTA / MTTR and SLA compliance, this week counted live.
    expect(page.locator('canvas[data-chart="times"]')).to_have_attribute("data-drawn", "12")
    expect(page.locator('canvas[data-chart="sla"]')).to_have_attribute("data-drawn", "12")
    expect(page.locator("#weekly tbody tr")).to_have_count(12)
    expect(page.locator('table[data-series="sources"]')).to_contain_text("hni-web-01")
    screenshot(page, "dashboard")
    watch.assert_clean()
