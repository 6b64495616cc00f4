"""Hunting in headless Chromium: the field sidebar's click-to-filter, columns and sort, an event's surroundings,
a saved search, with events shipped through the real ingest endpoint."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Watch, screenshot, sign_in
from tests.browser.test_console_in_browser import ingest, sshd_lines
from tests.conftest import PASSWORD, Cast, EnrolledCollector

pytestmark = pytest.mark.browser


def test_the_field_sidebar_filters_in_and_out_with_a_click(server: Server, cast: Cast,
                                                            hni_collector: EnrolledCollector, page: Page,
                                                            watch: Watch) -> None:
    ingest(server, hni_collector, sshd_lines(["admin", "oracle", "admin", "test", "admin"]))
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/console/events/?range=1h")
    expect(page.locator("#hit-count")).to_contain_text("5")
    users = page.locator('#field-sidebar details[data-field="user.name"]')
    users.evaluate("field => { field.open = true; }")  # the first fields are open; the rest open on a click
    expect(users.locator("li").first).to_contain_text("admin")
    expect(users.locator("li").first.locator(".count")).to_have_text("3")
    screenshot(page, "event-search-sidebar")

    users.locator("li", has_text="admin").locator("a.filter-in").click()
    expect(page.locator("#active-filters")).to_contain_text("user.name = admin")
    expect(page.locator("#hit-count")).to_contain_text("3")
    expect(page.locator("tr.event-row")).to_have_count(3)
    expect(page.locator('#field-sidebar details[data-field="user.name"] li')).to_have_count(1)

    page.locator("#active-filters a.remove").click()
    users.evaluate("field => { field.open = true; }")
    users.locator("li", has_text="admin").locator("a.filter-out").click()
    expect(page.locator("#active-filters .chip.negated")).to_contain_text("user.name = admin")
    expect(page.locator("#hit-count")).to_contain_text("2")
    watch.assert_clean()


def test_columns_and_sort_are_chosen_from_the_sidebar_and_headers(server: Server, cast: Cast,
                                                                  hni_collector: EnrolledCollector, page: Page,
                                                                  watch: Watch) -> None:
    ingest(server, hni_collector, sshd_lines(["carol", "alice", "bob"]))
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/console/events/?range=1h")
    page.locator('#field-sidebar details[data-field="user.name"] summary a.column-toggle').click()
    expect(page.locator('#event-rows th.column[data-field="user.name"]')).to_be_visible()
    assert "cols=user.name" in page.url
    page.locator('#event-rows th.column[data-field="user.name"] a.sort').click()
    expect(page.locator("#event-rows > tbody > tr.event-row > td:nth-child(2)")).to_have_text(["alice", "bob", "carol"])
    page.locator('#event-rows th.column[data-field="user.name"] a.sort').click()
    expect(page.locator("#event-rows > tbody > tr.event-row > td:nth-child(2)")).to_have_text(["carol", "bob", "alice"])
    screenshot(page, "event-search-columns")
    watch.assert_clean()


def test_an_events_surroundings_and_a_saved_search(server: Server, cast: Cast, hni_collector: EnrolledCollector,
                                                   page: Page, watch: Watch) -> None:
    ingest(server, hni_collector, sshd_lines(["admin", "oracle"]))
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/console/events/?range=1h&f=host.name%3Ahni-web-01")
    page.locator("details.event summary").first.click()
    page.locator("details.event[open] a.context", has_text="host.name").click()
    expect(page.locator("#anchor-event")).to_have_count(1)
    expect(page.locator("#context-rows tr.event-row")).to_have_count(2)
    screenshot(page, "event-context")

    page.goto(f"{server.base}/console/events/?range=1h&q=oracle")
    page.locator("#saved-searches summary").click()
    page.fill("#save-search input[name=name]", "oracle hunt")
    page.select_option("#save-search select[name=sharing]", "province")
    page.locator("#save-search button").click()
    page.goto(f"{server.base}/console/events/")
    page.locator("#saved-searches summary").click()
    page.locator("a.saved-search", has_text="oracle hunt").click()
    expect(page.locator(".search-form input[name=q]")).to_have_value("oracle")
    expect(page.locator("#hit-count")).to_contain_text("1")
    watch.assert_clean()
