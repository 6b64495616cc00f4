"""Playbook tasks between the centre and a province in headless Chromium (two browser contexts): the central
lead's incident opens with its playbook's tasks, a provincial responder completes a province task on the incident
page in their console, and the lead's open page ticks it off live; the lead reads and edits a playbook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from incidents.models import Category, Incident, Owner, Playbook, RequestForAction, RequestStatus
from incidents.services.intake import incident_create
from incidents.services.playbooks import playbook_starter_load
from organisations.actors import Actor
from tests.browser.conftest import WATCH, Server, Watch, off_loop, screenshot, sign_in
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.browser


@pytest.fixture
def province_page(browser: Browser, watch: Watch) -> Iterator[Page]:
    """A responder at another desk: their own cookies and socket."""
    ctx: BrowserContext = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    ctx.add_init_script(WATCH)
    tab = ctx.new_page()
    tab.set_default_timeout(10_000)
    watch.attach(tab)
    yield tab
    ctx.close()


def brute_force_incident(cast: Cast) -> Incident:
    off_loop(playbook_starter_load, actor=Actor.system())
    return off_loop(incident_create, province=cast.hni, title="SSH brute force on hni-web-01", severity="high",
                    category=Category.INTRUSION_ATTEMPTS, actor=Actor(user=cast.lead))


def test_a_province_completes_its_playbook_task_and_the_centre_sees_it_done_live(
        server: Server, cast: Cast, page: Page, province_page: Page, watch: Watch) -> None:
    incident = brute_force_incident(cast)
    tasks = list(RequestForAction.objects.filter(incident=incident).order_by("position"))
    block = next(t for t in tasks if t.owner == Owner.PROVINCE)
    centre, province = page, province_page
    sign_in(centre, server, "lead", PASSWORD)
    centre.goto(f"{server.base}/incidents/{incident.key}/")
    expect(centre.locator("html")).to_have_attribute("data-live", "live")
    progress = centre.locator("#task-progress")
    expect(progress).to_have_attribute("data-done", "0")
    expect(progress).to_have_attribute("data-total", str(len(tasks)))
    expect(centre.locator("#tasks li.task")).to_have_count(len(tasks))
    expect(centre.locator(f"#task-{block.pk}")).to_contain_text(block.title)

    sign_in(province, server, "hni.responder", PASSWORD)
    province.goto(f"{server.base}/incidents/{incident.key}/")
    row = province.locator(f"#task-{block.pk}")
    expect(province.locator(f"#task-{tasks[0].pk} form")).to_have_count(0)  # the centre's task: read, not worked
    row.locator("summary").click()
    row.locator("select[name=status]").select_option("done")
    row.locator("textarea[name=note]").fill("203.0.113.9 blocked at the provincial firewall.")
    row.locator("button[type=submit]").click()
    expect(province.locator("p.message.success")).to_be_visible()
    expect(province.locator(f"#task-{block.pk}")).to_have_attribute("data-status", "done")

    done_row = centre.locator(f"#task-{block.pk}")  # not reloaded: heard over the socket
    expect(done_row).to_have_attribute("data-status", "done")
    expect(done_row.locator(".task-status")).to_have_text(str(_vi(RequestStatus.DONE.label)))
    expect(progress).to_have_attribute("data-done", "1")
    expect(progress).to_contain_text(f"1/{len(tasks)}")
    block.refresh_from_db()
    assert block.status == RequestStatus.DONE and "blocked" in block.progress_note
    screenshot(centre, "tasks-round-trip-central")
    watch.assert_clean()


def test_the_lead_reads_a_playbook_and_saves_a_new_version(server: Server, cast: Cast, page: Page,
                                                           watch: Watch) -> None:
    off_loop(playbook_starter_load, actor=Actor.system())
    sign_in(page, server, "lead", PASSWORD)
    page.goto(f"{server.base}/incidents/playbooks/")
    page.click("a[href$='/playbooks/ddos/']")
    expect(page.locator("#playbook")).to_contain_text("NIST SP 800-61")
    page.click("a[href$='/playbooks/ddos/edit/']")
    page.fill("input[name=name]", "DDoS and outages")
    page.fill("input[name=steps-0-title]", "Confirm the outage first")
    page.click("#playbook-form button[type=submit]")
    expect(page.locator("p.message.success")).to_be_visible()
    expect(page.locator("#playbook h1")).to_contain_text("v2")
    playbook = Playbook.objects.get(slug="ddos")
    assert playbook.version == 2 and playbook.current().steps[0]["title"] == "Confirm the outage first"
    assert playbook.current().steps[0]["key"] == "confirm"  # the same step, its key kept
    page.click("a[href$='/playbooks/ddos/versions/1/']")
    expect(page.locator("#older-version")).to_be_visible()
    watch.assert_clean()


def _vi(label: object) -> str:
    from django.utils import translation

    with translation.override("vi"):
        return str(label)
