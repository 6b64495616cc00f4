"""Hostile log content, sent as real log lines through the ingest endpoint, never runs in the console.

Payloads (script tags, event handlers, javascript: URLs, SVG, attribute break-outs
and template syntax) become a user name, a host name, URLs and messages; a
detection rule turns them into incident titles and notifications. Each page is
then loaded in headless Chromium, and the test fails on any script execution
(``window.__xss``), any dialog, or any Content-Security-Policy violation (which
would mean markup from a log line reached the DOM even if the policy stopped it).
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from detection.models import DetectionRule, RuleKind
from detection.services import rule_run
from incidents.models import Incident
from soc import es as soc_es
from tests.browser.conftest import Server, Watch, off_loop, screenshot, sign_in
from tests.conftest import PASSWORD, Cast, EnrolledCollector

pytestmark = pytest.mark.browser

USER_PAYLOADS = [
    "<script>window.__xss=1</script>",
    "<img/src=x/onerror=alert(2)>",
    "<svg/onload=window.__xss=3>",
    "javascript:alert(4)//",
    '"><script>alert(5)</script>',
    "{{7*7}}{%debug%}",
]
HOST_PAYLOAD = "<img src=x onerror=window.__xss=6>"


def log_lines() -> list[dict[str, str]]:
    local = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    syslog_time, web_time = local.strftime("%b %e %H:%M:%S"), local.strftime("%d/%b/%Y:%H:%M:%S %z")
    items = [{"id": f"hostile:{n}", "host": HOST_PAYLOAD,
              "raw": f"{syslog_time} hni-web-01 sshd[{700 + n}]: Invalid user {user} from 203.0.113.{n + 1} port 4{n}"}
             for n, user in enumerate(USER_PAYLOADS)]
    items.append({"id": "hostile:web", "host": HOST_PAYLOAD,
                  "raw": f'203.0.113.9 - - [{web_time}] "GET /<svg/onload=alert(7)>?q=javascript:alert(8) HTTP/1.1" '
                         f'404 12 "javascript:alert(9)" "<img src=x onerror=alert(10)>"'})
    return items


def ingest(server: Server, secret: str) -> None:
    body = json.dumps({"events": log_lines()}).encode()
    request = urllib.request.Request(f"{server.base}/api/v1/ingest/events", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(request, timeout=30))
    assert [r["status"] for r in answer["results"]] == ["created"] * len(log_lines()), answer
    soc_es.client().indices.refresh(index=soc_es.events_pattern())


def assert_nothing_ran(page: Page, watch: Watch, name: str, expected_error: bool = False,
                      keep_screenshot: bool = True) -> None:
    page.wait_for_load_state("load")
    if expected_error:  # the page answered 400 with its own error message, as it should
        assert len(watch.failed_responses) == 1 and watch.failed_responses[0].startswith("400 "), watch
        watch.failed_responses.clear()
    page.wait_for_timeout(100)  # let deferred scripts and charts run
    assert page.evaluate("window.__xss") is None, f"{name}: a payload ran"
    violations = page.evaluate("window.__violations")
    assert violations == [], f"{name}: markup from a log line reached the page: {violations}"
    watch.assert_clean()
    if keep_screenshot:
        screenshot(page, f"hostile-{name}")


def test_hostile_log_content_never_runs_on_any_page(server: Server, cast: Cast, hni_collector: EnrolledCollector,
                                                    page: Page, watch: Watch) -> None:
    rule = DetectionRule.objects.create(
        name="Hostile user names", kind=RuleKind.THRESHOLD, severity="high", category="intrusion_attempts",
        params={"query": "event.action:invalid_user", "group_by": ["user.name"], "count": 1, "window_seconds": 300})
    sign_in(page, server, "hni.responder", PASSWORD)
    page.goto(f"{server.base}/incidents/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    ingest(server, hni_collector.secret)
    # A little ahead of now: the rule leaves the last seconds to its next run, and these lines are that recent.
    run = off_loop(rule_run, rule_id=rule.pk, now=timezone.now() + timedelta(seconds=30))
    titles = list(Incident.objects.values_list("title", flat=True))
    assert len(titles) == len(USER_PAYLOADS), (titles, run and run.__dict__)
    # The open list received the new incidents live (rendered by live.js).
    expect(page.locator("#incident-rows tr[data-key]")).to_have_count(len(USER_PAYLOADS))
    assert "<script>window.__xss=1</script>" in page.locator("#incident-rows").inner_text()
    assert_nothing_ran(page, watch, "incidents-live")

    pages = {
        "home": "/console/",
        "incidents": "/incidents/",
        "events": "/console/events/?range=1h",
        "events-query": "/console/events/?range=1h&q=" + quote('"><script>alert(11)</script>'),
        "events-filter": "/console/events/?range=1h&f=" + quote("user.name:" + USER_PAYLOADS[4]),
        "dashboard": "/console/dashboard/",
        "notifications": "/notifications/",
    }
    for name, path in pages.items():
        page.goto(server.base + path)
        if name.startswith("events"):
            # Every event expanded, as an analyst would: all fields of every event are on screen.
            page.evaluate("document.querySelectorAll('details.event').forEach(function (d) { d.open = true; })")
        assert_nothing_ran(page, watch, name, expected_error=name == "events-query")

    page.goto(f"{server.base}/console/events/?range=1h")
    text = page.locator("body").inner_text()
    assert "{{7*7}}{%debug%}" in text and HOST_PAYLOAD in text
    # The field sidebar shows the same values as text, and filtering on one keeps them text.
    sidebar = page.locator("#field-sidebar")
    expect(sidebar.locator('details[data-field="host.name"] .value', has_text=HOST_PAYLOAD)).to_have_count(1)
    sidebar.locator('details[data-field="user.name"]').evaluate("field => { field.open = true; }")
    user_values = sidebar.locator('details[data-field="user.name"] li')
    expect(user_values.filter(has_text=USER_PAYLOADS[0])).to_have_count(1)
    user_values.filter(has_text=USER_PAYLOADS[0]).locator("a.filter-in").click()
    expect(page.locator("#active-filters")).to_contain_text(f"user.name = {USER_PAYLOADS[0]}")
    expect(page.locator("#hit-count")).to_contain_text("1")
    assert_nothing_ran(page, watch, "events-sidebar-filter")
    for key in Incident.objects.values_list("key", flat=True):
        # The incident page, its investigation timeline (the hostile events among the alerts) and its report.
        for suffix in ("", "timeline/", "report/"):
            page.goto(f"{server.base}/incidents/{key}/{suffix}")
            assert_nothing_ran(page, watch, f"incident-{key}-{suffix.strip('/')}", keep_screenshot=False)
    scripted = Incident.objects.get(title__contains=USER_PAYLOADS[0]).key
    timeline = page.context.request.get(f"{server.base}/incidents/{scripted}/timeline/").text()
    assert "Invalid user &lt;script&gt;window.__xss=1&lt;/script&gt; from" in timeline  # the event's line, as text
    page.goto(f"{server.base}/console/dashboard/")
    expect(page.locator('table[data-series="sources"]')).to_contain_text(HOST_PAYLOAD)
