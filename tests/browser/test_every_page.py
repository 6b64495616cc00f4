"""Every page of the console, as every role, in headless Chromium: no console error, no failed request.

Each role signs in and follows its own menu (grouped by job, only what the role has a use for), then the
detail pages behind it; every page must answer 200 and load without an error in the browser console or a
failed request (a missing favicon included). The same walk at a phone's width checks the folding menu.

With ``SOC_SCREENSHOTS=<dir>`` (``make screenshots``) it also saves each page, as each role, at 1280 px and at
390 px, so a reviewer can look at the whole console without signing in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import Browser, Page, ViewportSize, expect

from collectors.services import backfill_upload_create, backfill_upload_read
from detection.alerts import alert_raise
from detection.engine import ORG, Finding
from detection.models import DetectionRule
from detection.starter import starter_rules_load
from incidents.models import Incident
from incidents.services.intake import incident_create
from incidents.services.playbooks import playbook_starter_load
from incidents.services.requests import request_send
from organisations.actors import Actor
from organisations.models import Role
from organisations.services import user_with_role
from readiness.services import period_publish, scorecards_recompute
from soc import es as soc_es
from tests.browser.conftest import WATCH, Server, Watch, off_loop, sign_in
from tests.conftest import PASSWORD, Cast, EnrolledCollector

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SOC_SCREENSHOTS", "")
PHONE: ViewportSize = {"width": 390, "height": 844}

# What each role's menu offers (organisations/access.py decides; this is what a person of that role sees).
MENUS = {
    "lead": {"dashboard", "today", "incidents", "requests", "playbooks", "report", "events", "rules", "collectors",
             "retention", "members", "organisations", "sla", "audit", "readiness"},
    "analyst": {"dashboard", "incidents", "requests", "playbooks", "report", "events", "rules", "collectors",
                "retention", "readiness"},
    "auditor": {"dashboard", "incidents", "requests", "playbooks", "events", "rules", "collectors", "retention",
                "members", "organisations", "sla", "audit", "readiness"},
    "hni.responder": {"dashboard", "today", "incidents", "requests", "report", "events", "readiness"},
    "hni.admin": {"dashboard", "today", "incidents", "requests", "report", "events", "collectors", "members",
                  "organisations", "readiness"},
}

# Logs a responder already has, uploaded to be detected on: whoever may report an incident (Action.FILE).
for _role in ("lead", "analyst", "hni.responder", "hni.admin"):
    MENUS[_role].add("backfill")


# What sticks out on the right, to name it when a page is too wide.
WIDEST = """Array.from(document.querySelectorAll("body *"))
  .filter(e => e.getBoundingClientRect().right > 391)
  .slice(0, 3).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))"""


@dataclass
class World:
    incident: Incident
    request_id: int
    rule_id: int
    backfill_upload: str = ""  # a log file uploaded for HNI: its page says what it stored and what fired


def build_world(cast: Cast) -> World:
    """An incident opened by a real alert (its facts shown in the reader's zone) with its playbook's tasks, a
    request for action sent to its province, the starter playbooks and rules, yesterday's scorecards published and
    a provincial admin: every page has something to show."""
    user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni, role=Role.PROVINCIAL_ADMIN)
    playbook_starter_load(actor=Actor.system())
    starter_rules_load(actor=Actor.system())
    rule = DetectionRule.objects.order_by("pk").first()
    assert rule is not None
    now = timezone.now()
    alert_raise(rule=rule, finding=Finding(
        group={ORG: "HNI", "source.ip": "203.0.113.9"}, first=now - timedelta(minutes=5), last=now, count=12,
        key="browser-every-page"))
    incident = Incident.objects.get(province=cast.hni, dedup_key__startswith="entity:HNI:ip:203.0.113.9")
    incident_create(province=cast.hcm, title="Path traversal on hcm-web-02", severity="medium")
    rfa = request_send(incident=incident, instructions="Block 203.0.113.9 at the edge firewall.",
                       due_at=now + timedelta(hours=4), priority="high", actor=Actor(user=cast.lead))
    yesterday = timezone.localdate() - timedelta(days=1)
    scorecards_recompute(start=yesterday, end=yesterday)
    period_publish(actor=Actor(user=cast.lead), start=yesterday, end=yesterday)
    log = SimpleUploadedFile("auth.log", b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user admin from 192.0.2.7\n")
    upload = backfill_upload_create(organisation=cast.hni, upload=log, file_name="auth.log", file_format="text",
                                    host_name="", actor=Actor(user=cast.hni_responder))
    backfill_upload_read(upload_id=upload.pk)
    return World(incident=incident, request_id=rfa.pk, rule_id=rule.pk, backfill_upload=str(upload.uid))


def details(world: World, role: str) -> dict[str, str]:
    """Pages behind the menu, by name: an incident (its investigation timeline and report), a request, a rule, a
    scorecard, the user's own pages."""
    pages = {"incident": f"/incidents/{world.incident.key}/", "request": f"/incidents/requests/{world.request_id}/",
             "scorecard": "/readiness/HNI/", "notifications": "/notifications/",
             "preferences": "/accounts/preferences/", "published-readiness": "/readiness/public/",
             "incident-timeline": f"/incidents/{world.incident.key}/timeline/",
             "incident-report": f"/incidents/{world.incident.key}/report/"}
    if not role.startswith("hni."):
        pages["rule-runs"] = f"/rules/{world.rule_id}/runs/"
    if role == "lead":
        pages["rule"] = f"/rules/{world.rule_id}/"
    # Playbooks: read by everyone (a province reaches them from its tasks), written by the lead; the queue's
    # "my tasks due today".
    pages |= {"playbook": "/incidents/playbooks/brute-force/",
              "playbook-version": "/incidents/playbooks/brute-force/versions/1/",
              "my-tasks-today": "/incidents/?my_tasks=today"}
    if role == "lead":
        pages |= {"playbook-edit": "/incidents/playbooks/brute-force/edit/",
                  "playbook-new": "/incidents/playbooks/new/"}
    if role != "auditor":  # whoever may report an incident uploads logs
        pages["backfill-upload"] = f"/rules/backfill/{world.backfill_upload}/"
    return pages | hunting_pages(role)


def hunting_pages(role: str) -> dict[str, str]:
    """Event search with chosen columns and a sort (the field sidebar beside it), an event's surroundings, and
    (for the lead, who manages rules) a rule drafted from a search."""
    now = timezone.now()
    written = soc_es.client().index(index=soc_es.index_name("events", now), refresh=True, document={
        "@timestamp": now.isoformat(), "message": "Failed password for root from 203.0.113.9 port 40022 ssh2",
        "organization": {"id": "HNI", "name": "HNI"}, "host": {"name": "hni-web-01"}, "user": {"name": "root"},
        "source": {"ip": "203.0.113.9"}, "event": {"dataset": "system.auth", "outcome": "failure"}})
    pages = {"events-columns": "/console/events/?range=24h&cols=host.name,user.name&sort=user.name:asc",
             "event-context": f"/console/events/context?event={written['_id']}&field=host.name&minutes=5"}
    if role == "lead":
        pages["rule-from-search"] = "/console/events/rule?range=24h&q=event.outcome:failure"
    return pages


def menu_links(page: Page) -> dict[str, str]:
    links = page.locator("#site-menu .groups a[id^=nav-]")
    return {str(link.get_attribute("id"))[4:]: str(link.get_attribute("href")) for link in links.all()}


def visit(page: Page, server: Server, path: str, watch: Watch, shot: str = "") -> None:
    response = page.goto(f"{server.base}{path}")
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    page.wait_for_load_state("networkidle")
    watch.assert_clean()
    if shot:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{shot}.png"), full_page=True)


def shot_name(role: str, page_name: str, width: str) -> str:
    if not SHOTS:
        return ""
    slug = re.sub(r"[^a-z0-9]+", "-", page_name.lower()).strip("-")
    return f"{role.replace('.', '-')}--{slug}--{width}"


@pytest.mark.parametrize("role", list(MENUS))
def test_every_page_of_the_menu_and_behind_it_loads_cleanly_for(role: str, server: Server, cast: Cast,
                                                                hni_collector: EnrolledCollector, page: Page,
                                                                watch: Watch) -> None:
    world = off_loop(build_world, cast=cast)
    sign_in(page, server, role, PASSWORD)
    page.goto(f"{server.base}/console/dashboard/")
    links = menu_links(page)

    assert set(links) == MENUS[role]
    for area, path in sorted(links.items()):
        visit(page, server, path, watch, shot_name(role, area, "1280"))
        current = page.locator(f"#nav-{area}")
        expect(current).to_have_attribute("aria-current", "page")
    for name, path in details(world, role).items():
        visit(page, server, path, watch, shot_name(role, name, "1280"))


# At a phone's width: the roles with the shortest and the longest menu (every role when taking screenshots).
PHONE_ROLES = list(MENUS) if SHOTS else ["hni.responder", "lead"]


@pytest.mark.parametrize("role", PHONE_ROLES)
def test_on_a_phone_the_menu_folds_and_every_page_fits_the_width(role: str, server: Server, cast: Cast,
                                                                 hni_collector: EnrolledCollector,
                                                                 browser: Browser) -> None:
    world = off_loop(build_world, cast=cast)
    phone = browser.new_context(locale="vi-VN", viewport=PHONE, is_mobile=True, has_touch=True)
    phone.add_init_script(WATCH)
    page, watch = phone.new_page(), Watch()
    page.set_default_timeout(10_000)
    watch.attach(page)
    try:
        sign_in(page, server, role, PASSWORD)
        page.goto(f"{server.base}/console/dashboard/")
        expect(page.locator("#site-menu")).to_be_hidden()
        page.click("#menu-toggle")
        expect(page.locator("#nav-incidents")).to_be_visible()
        expect(page.locator("form.logout button")).to_be_visible()
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{shot_name(role, 'menu-open', '390')}.png"), full_page=True)
        page.click("#nav-incidents")
        expect(page.locator("#site-menu")).to_be_hidden()
        too_wide = {}
        for name, path in [*sorted(menu_links(page).items()), *details(world, role).items()]:
            visit(page, server, path, watch, shot_name(role, name, "390"))
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[path] = page.evaluate(WIDEST)
        assert too_wide == {}, f"wider than a phone: {too_wide}"
    finally:
        phone.close()


def test_the_incident_page_shows_detected_facts_in_the_readers_zone(server: Server, cast: Cast,
                                                                      page: Page, watch: Watch) -> None:
    world = off_loop(build_world, cast=cast)
    sign_in(page, server, "analyst", PASSWORD)
    visit(page, server, f"/incidents/{world.incident.key}/", watch)
    facts = page.locator("ul.detected li").first
    expect(facts).to_contain_text("203.0.113.9")
    expect(facts.locator("time").first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07$"))
    expect(page.locator("article.card")).not_to_contain_text(re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d"))


def test_the_favicon_is_served(server: Server, cast: Cast, page: Page) -> None:
    response = page.goto(f"{server.base}/favicon.ico")
    assert response is not None and response.status == 200
    assert "svg" in (response.headers.get("content-type") or "")


def test_on_a_wide_screen_a_group_opens_on_click_and_closes_on_escape(server: Server, cast: Cast, page: Page,
                                                                        watch: Watch) -> None:
    sign_in(page, server, "analyst", PASSWORD)
    page.goto(f"{server.base}/console/dashboard/")
    expect(page.locator("#menu-toggle")).to_be_hidden()
    expect(page.locator("#nav-rules")).to_be_hidden()
    page.locator('[data-group="hunt"] .group-label').click()
    expect(page.locator("#nav-rules")).to_be_visible()
    page.keyboard.press("Escape")
    page.mouse.move(640, 600)  # off the menu: hovering keeps a group open
    expect(page.locator("#nav-rules")).to_be_hidden()
    page.locator('[data-group="hunt"] .group-label').click()
    page.click("#nav-rules")
    expect(page).to_have_url(re.compile(r"/rules/$"))
    expect(page.locator('[data-group="hunt"]')).to_have_class(re.compile(r"\bcurrent\b"))
    watch.assert_clean()
