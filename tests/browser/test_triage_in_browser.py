"""The triage queue and the central ↔ province workflow in headless Chromium.

Keyboard shortcuts, saved views, bulk selection, triage and assignment, the
request-for-action round trip between a central analyst and a provincial
responder (two browser contexts), provincial filing reaching the central queue
live, and the unread badge updating over the socket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from incidents.models import Incident, RequestForAction, RequestStatus, Status
from incidents.services.intake import incident_create
from tests.browser.conftest import WATCH, Server, Watch, off_loop, screenshot, sign_in
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.browser


def incidents(cast: Cast, *titles: str, severity: str = "medium") -> list[Incident]:
    return [off_loop(incident_create, province=cast.hni, title=title, severity=severity) for title in titles]


def status_of(*found: Incident) -> list[str]:
    return [Incident.objects.get(pk=incident.pk).status for incident in found]


def live_queue(page: Page, server: Server) -> None:
    page.goto(f"{server.base}/incidents/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


@pytest.fixture
def second_context(browser: Browser) -> Iterator[BrowserContext]:
    """A second person at another desk: their own cookies and sockets."""
    ctx = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    ctx.add_init_script(WATCH)
    yield ctx
    ctx.close()


@pytest.fixture
def province_page(second_context: BrowserContext, watch: Watch) -> Page:
    tab = second_context.new_page()
    tab.set_default_timeout(10_000)
    watch.attach(tab)
    return tab


def test_keyboard_shortcuts_move_select_assign_and_open(server: Server, cast: Cast, page: Page,
                                                        watch: Watch) -> None:
    found = incidents(cast, "First", "Second", "Third")
    sign_in(page, server, "lead", PASSWORD)
    live_queue(page, server)
    rows = page.locator("#incident-rows tr[data-key]")
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile("focused"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("focused"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile("focused"))
    expect(rows.nth(1)).not_to_have_class(re.compile("focused"))
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("1")
    page.keyboard.press("Shift+X")
    expect(page.locator("#selected-count")).to_have_text("3")
    page.keyboard.press("Shift+X")
    expect(page.locator("#selected-count")).to_have_text("0")
    first_key = rows.nth(0).get_attribute("data-key")
    page.keyboard.press("a")  # nothing selected: the focused incident is assigned to me
    page.wait_for_url(re.compile(r"/incidents/$"))
    expect(page.locator("p.message.success")).to_contain_text("1")
    assigned = Incident.objects.filter(assignee=cast.lead).values_list("key", flat=True)
    assert list(assigned) == [first_key]
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"**/incidents/{first_key}/")
    expect(page.locator("h1")).to_contain_text(first_key or "")
    assert len(found) == 3
    watch.assert_clean()


def test_typing_in_the_search_box_does_not_trigger_shortcuts(server: Server, cast: Cast, page: Page) -> None:
    incidents(cast, "Only one")
    sign_in(page, server, "lead", PASSWORD)
    live_queue(page, server)
    page.keyboard.press("/")
    page.keyboard.type("jxa")
    expect(page.locator("#queue-search")).to_have_value("jxa")
    expect(page.locator("#incident-rows tr.focused")).to_have_count(0)
    expect(page.locator("#selected-count")).to_have_text("0")


def test_saving_a_view_and_picking_it_on_the_queue(server: Server, cast: Cast, page: Page, watch: Watch) -> None:
    fresh, triaged = incidents(cast, "Still new", "Already triaged")
    Incident.objects.filter(pk=triaged.pk).update(status=Status.TRIAGED)
    sign_in(page, server, "analyst", PASSWORD)
    page.goto(f"{server.base}/incidents/")
    page.select_option("form.filters select[name=status]", "new")
    page.click("form.filters button[type=submit]")
    page.fill("#save-view input[name=name]", "Chưa phân loại <b>")
    page.click("#save-view button[type=submit]")
    page.wait_for_url(re.compile(r"status=new"))
    expect(page.locator("#saved-view option:checked")).to_have_text("Chưa phân loại <b>")
    page.goto(f"{server.base}/incidents/")
    expect(page.locator(f'tr[data-key="{triaged.key}"]')).to_have_count(1)
    page.select_option("#saved-view", label="Chưa phân loại <b>")  # picking it applies it, no button needed
    page.wait_for_url(re.compile(r"status=new"))
    expect(page.locator(f'tr[data-key="{fresh.key}"]')).to_have_count(1)
    expect(page.locator(f'tr[data-key="{triaged.key}"]')).to_have_count(0)
    screenshot(page, "queue-saved-view")
    watch.assert_clean()


def test_selecting_all_on_the_page_and_closing_them_in_bulk(server: Server, cast: Cast, page: Page,
                                                            watch: Watch) -> None:
    found = incidents(cast, "Noise 1", "Noise 2", "Noise 3")
    sign_in(page, server, "lead", PASSWORD)
    live_queue(page, server)
    page.check("#select-all")
    expect(page.locator("#selected-count")).to_have_text("3")
    page.keyboard.press("c")  # close: the resolution field is shown and focused
    expect(page.locator("#bulk-form input[name=resolution_summary]")).to_be_focused()
    page.keyboard.type("Scanner noise, confirmed with the province")
    page.click("fieldset.bulk button[type=submit]")
    expect(page.locator("p.message.success")).to_contain_text("3")
    assert status_of(*found) == [Status.CLOSED] * 3
    expect(page.locator("#incident-rows")).to_contain_text(str(Status.CLOSED.label))
    screenshot(page, "queue-bulk-closed")
    watch.assert_clean()


def test_closing_in_bulk_without_a_summary_is_refused_and_changes_nothing(server: Server, cast: Cast,
                                                                          page: Page) -> None:
    found = incidents(cast, "Keep me open")
    sign_in(page, server, "lead", PASSWORD)
    live_queue(page, server)
    page.check("#select-all")
    page.select_option("#bulk-form select[name=action]", "close")
    page.click("fieldset.bulk button[type=submit]")
    expect(page.locator("p.message.error")).to_be_visible()
    assert status_of(*found) == [Status.NEW]


def test_triage_then_assign_from_the_incident_page(server: Server, cast: Cast, page: Page, watch: Watch) -> None:
    [incident] = incidents(cast, "Brute force on hni-web-01", severity="high")
    sign_in(page, server, "lead", PASSWORD)
    live_queue(page, server)
    page.keyboard.press("j")
    page.keyboard.press("s")  # change status of the focused incident from the queue
    expect(page.locator("#bulk-form select[name=status]")).to_be_focused()
    page.select_option("#bulk-form select[name=status]", "triaged")
    page.click("fieldset.bulk button[type=submit]")
    expect(page.locator("p.message.success")).to_contain_text("1")
    assert status_of(incident) == [Status.TRIAGED]
    page.click(f'tr[data-key="{incident.key}"] a')
    page.select_option(f'form[action$="/{incident.key}/assign/"] select[name=assignee]', label="analyst")
    page.click(f'form[action$="/{incident.key}/assign/"] button[type=submit]')
    expect(page.locator("dl.facts")).to_contain_text("analyst")
    expect(page.locator('#investigation-timeline li[data-kind="change"]').first).to_contain_text("analyst")
    assert Incident.objects.get(pk=incident.pk).assignee == cast.analyst
    watch.assert_clean()


def update_request(page: Page, status: str, note: str) -> None:
    page.select_option("form.card select[name=status]", status)
    page.fill("form.card textarea[name=note]", note)
    page.click("form.card button[type=submit]")
    expect(page.locator("p.message.success")).to_be_visible()


def test_a_request_for_action_round_trip_between_central_and_the_province(
        server: Server, cast: Cast, page: Page, province_page: Page, watch: Watch, tmp_path: Path) -> None:
    [incident] = incidents(cast, "Web shell on hni-web-01", severity="high")
    central, province = page, province_page
    sign_in(central, server, "analyst", PASSWORD)
    sign_in(province, server, "hni.responder", PASSWORD)
    province.goto(f"{server.base}/console/")
    expect(province.locator("html")).to_have_attribute("data-live", "live")
    central.goto(f"{server.base}/incidents/{incident.key}/")
    form = central.locator(f'form[action$="/{incident.key}/requests/"]')
    form.locator("textarea[name=instructions]").fill("Isolate hni-web-01 and send us the web server logs.")
    form.locator("input[name=due_at]").fill("2030-01-01T10:00")
    form.locator("button[type=submit]").click()
    expect(central.locator("p.message.success")).to_be_visible()
    expect(central.locator("html")).to_have_attribute("data-live", "live")

    expect(province.locator("#home-changed")).to_be_visible()  # the province's open home page hears of it live
    province.click("#home-changed a")
    province.locator("#home-requests a", has_text=incident.key).click()
    expect(province.locator("article")).to_contain_text("Isolate hni-web-01")
    update_request(province, "acknowledged", "Seen, on it.")
    update_request(province, "in_progress", "Host isolated; collecting logs.")
    evidence = tmp_path / "access.log"
    evidence.write_text("203.0.113.9 - - [28/Nov/2026] \"POST /upload.php\" 200\n")
    province.goto(f"{server.base}/incidents/{incident.key}/")
    province.set_input_files(f'form[action$="/{incident.key}/attachments/"] input[type=file]', str(evidence))
    province.click(f'form[action$="/{incident.key}/attachments/"] button[type=submit]')
    expect(province.locator("a", has_text="access.log")).to_be_visible()
    expect(central.locator("#incident-changed")).to_be_visible()  # central's open page hears about it live
    province.goto(f"{server.base}/incidents/requests/")
    province.locator("table a", has_text=re.compile(r"^\d+$")).first.click()
    update_request(province, "done", "Logs uploaded as evidence.")

    rfa = RequestForAction.objects.get(incident=incident)
    central.reload()
    expect(central.locator("a", has_text="access.log")).to_be_visible()
    expect(central.locator("li", has=central.locator(f'a[href$="/requests/{rfa.pk}/"]'))).to_contain_text(
        str(RequestStatus.DONE.label))
    assert rfa.status == RequestStatus.DONE and "Logs uploaded" in rfa.progress_note
    screenshot(central, "request-round-trip-central")
    watch.assert_clean()


def test_provincial_filing_reaches_the_central_queue_live(server: Server, cast: Cast, page: Page,
                                                          province_page: Page, watch: Watch) -> None:
    central, province = page, province_page
    sign_in(central, server, "analyst", PASSWORD)
    live_queue(central, server)
    sign_in(province, server, "hni.responder", PASSWORD)
    province.goto(f"{server.base}/incidents/new/")
    province.fill("input[name=title]", "Trang web sở bị thay giao diện")
    province.fill("textarea[name=description]", "The home page shows a defacement banner since 08:00.")
    province.fill("input[name=contact]", "Nguyễn Văn A, 0912 345 678")
    province.select_option("select[name=severity]", "high")
    province.click("form.card button[type=submit]")
    expect(province.locator("p.message.success")).to_contain_text("HNI-")
    filed = Incident.objects.get(title="Trang web sở bị thay giao diện")
    row = central.locator(f'tr[data-key="{filed.key}"]')
    expect(row).to_contain_text("Trang web sở bị thay giao diện")
    expect(row).to_contain_text(str(filed.get_severity_display()))
    assert filed.status == Status.NEW and filed.province == cast.hni
    screenshot(central, "queue-provincial-filing")
    watch.assert_clean()


def test_the_unread_badge_counts_up_live_without_a_reload(server: Server, cast: Cast, page: Page,
                                                          watch: Watch) -> None:
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/console/")
    expect(page.locator("html")).to_have_attribute("data-live", "live")
    badge = page.locator("#nav-notifications .badge")
    expect(badge).to_have_count(0)
    incidents(cast, "Ransomware note on hni-fs-01", severity="critical")
    expect(badge).to_have_text("1")
    incidents(cast, "Second one", severity="high")
    expect(badge).to_have_text("2")
    incidents(cast, "Low: no notice", severity="low")
    page.click("#nav-notifications")
    page.click("form[action$='/notifications/read/'] button")
    expect(page.locator("#nav-notifications .badge")).to_have_count(0)
    watch.assert_clean()


def test_the_requests_list_says_when_a_request_arrives(server: Server, cast: Cast, page: Page,
                                                       watch: Watch) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from incidents.services.requests import request_send
    from organisations.actors import Actor

    [incident] = incidents(cast, "Phishing wave at the tax office")
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/incidents/requests/")
    expect(page.locator("html")).to_have_attribute("data-live", "live")
    expect(page.locator("#requests-changed")).to_be_hidden()
    off_loop(request_send, incident=incident, instructions="Block the sender domain", priority="high",
             due_at=timezone.now() + timedelta(hours=4), actor=Actor(user=cast.analyst))
    expect(page.locator("#requests-changed")).to_be_visible()
    page.click("#requests-changed a")
    expect(page.locator("table")).to_contain_text("Block the sender domain")
    watch.assert_clean()
