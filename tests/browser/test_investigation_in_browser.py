"""The investigation timeline in headless Chromium: filtered by kind, and a new item arriving live."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from incidents.models import Status
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.intake import incident_create, incident_open_or_touch_for_detection
from incidents.services.workflow import incident_change_status
from organisations.actors import Actor
from tests.browser.conftest import Server, Watch, off_loop, screenshot, sign_in
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.browser


def test_the_timeline_filters_by_kind_and_shows_a_new_comment_live(server: Server, cast: Cast, page: Page,
                                                                    watch: Watch) -> None:
    incident = off_loop(incident_create, province=cast.hni, title="Dò mật khẩu SSH", dedup_key="browser:ssh")
    analyst = Actor(user=cast.analyst)
    off_loop(comment_add, incident=incident, body="Đã kiểm tra nhật ký", actor=analyst)
    off_loop(observable_add, incident=incident, kind="ip", value="203.0.113.9", actor=analyst)
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/incidents/{incident.key}/timeline/")
    items = page.locator("#investigation-timeline li.tl")
    expect(items).to_have_count(3)  # opened, comment, observable

    for box in page.locator("#timeline-filter input[name=kind]").all():
        box.set_checked(box.get_attribute("value") == "comment")
    page.click("#timeline-filter button[type=submit]")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-kind", "comment")
    expect(page.locator("#timeline-csv")).to_have_attribute("href", f"/incidents/{incident.key}/timeline/export/"
                                                                    "?format=csv&kind=comment")

    expect(page.locator("html")).to_have_attribute("data-live", "live")
    off_loop(incident_change_status, incident=incident, status=Status.TRIAGED, actor=analyst)  # filtered out
    off_loop(comment_add, incident=incident, body="Mới: <b>chặn</b> 203.0.113.9", actor=analyst)
    expect(items).to_have_count(2)
    expect(items.first.locator(".tl-text")).to_have_text("Mới: <b>chặn</b> 203.0.113.9")  # text, never markup
    expect(items.first.locator(".tl-actor")).to_have_text("analyst")
    expect(page.locator('#investigation-timeline li[data-kind="status"]')).to_have_count(0)
    expect(page.locator("#timeline-new-alerts")).to_be_hidden()
    screenshot(page, "incident-timeline-live")
    watch.assert_clean()


def test_new_alerts_on_the_incident_are_announced_on_its_timeline(server: Server, cast: Cast, page: Page,
                                                                  watch: Watch) -> None:
    opened = {"province": cast.hni, "dedup_key": "browser:rdp", "title": "RDP brute force",
              "description": "", "severity": "high", "category": "intrusion_attempts"}
    incident, _created = off_loop(incident_open_or_touch_for_detection, **opened, seen_at=timezone.now())
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/incidents/{incident.key}/timeline/")
    expect(page.locator("html")).to_have_attribute("data-live", "live")
    notice = page.locator("#timeline-new-alerts")
    expect(notice).to_be_hidden()

    off_loop(incident_open_or_touch_for_detection, **opened, seen_at=timezone.now(), new_alerts=3)
    expect(notice).to_be_visible()
    watch.assert_clean()
