"""The rules page in headless Chromium: a broken Sigma edit shows its line, the fix enables the rule, a test runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from detection.models import DetectionRule
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import Server, Watch, screenshot, sign_in
from tests.conftest import PASSWORD, Cast
from tests.detection_engine.conftest import Index, ago, event, make_rule

pytestmark = pytest.mark.browser
# The browser suite's fixtures (page server, Chromium, committed data), registered for this module by name.
allow_orm_beside_playwright = browser_fixtures.allow_orm_beside_playwright
browser = browser_fixtures.browser
committed_data = browser_fixtures.committed_data
server = browser_fixtures.server
context = browser_fixtures.context
watch = browser_fixtures.watch
page = browser_fixtures.page

WHOAMI = """title: whoami
logsource: {product: windows, category: process_creation}
detection:
    sel: {Image|endswith: '\\\\whoami.exe'}
    condition: sel
level: high
"""
BROKEN = WHOAMI.replace("    condition: sel\n", "    condition: sel\n  oops: [unclosed\n")


def test_the_lead_fixes_a_broken_sigma_rule_enables_it_and_tests_it_over_the_past_hour(
        server: Server, cast: Cast, index: Index, page: Page, watch: Watch) -> None:
    rule = make_rule(name="whoami", kind="sigma", enabled=False, params={"yaml": WHOAMI})
    index(event(ago(900), org="HNI", winlog__channel="Microsoft-Windows-Sysmon/Operational", event__code="1",
                host__name="ws-hni-7", winlog__event_data__Image=r"C:\Windows\System32\whoami.exe"))
    sign_in(page, server, "lead", PASSWORD)
    page.goto(f"{server.base}/rules/")
    page.click(f'tr[data-rule="{rule.pk}"] a')
    expect(page.locator("#rule-form")).to_have_attribute("data-enhanced", "yes")

    page.fill("textarea[name=sigma_yaml]", BROKEN)
    page.check("#rule-form input[name=enabled]")
    page.click("#save-rule")

    expect(page.locator("#yaml-errors")).to_contain_text("line 6")
    # The script selected the offending line in the editor; the rule stays off and unchanged.
    expect(page.locator("textarea[name=sigma_yaml]")).to_have_attribute("data-selected-line", "6")
    expect(page.locator("#rule-enabled")).to_have_attribute("data-enabled", "no")
    screenshot(page, "rule-invalid-yaml")
    stored = DetectionRule.objects.get(pk=rule.pk)
    assert (stored.enabled, stored.version, stored.params["yaml"]) == (False, 1, WHOAMI)

    page.fill("textarea[name=sigma_yaml]", WHOAMI.replace("title: whoami", "title: whoami (fixed)"))
    page.check("#rule-form input[name=enabled]")
    page.click("#save-rule")

    expect(page.locator("p.message.success")).to_be_visible()
    expect(page.locator("#rule-version")).to_have_text("2")
    expect(page.locator("#rule-enabled")).to_have_attribute("data-enabled", "yes")
    assert DetectionRule.objects.get(pk=rule.pk).enabled

    page.select_option("select[name=period]", "1h")
    page.click("#run-test")

    expect(page.locator("#test-result")).to_have_attribute("data-would-alert", "1")
    expect(page.locator("#test-result tr.finding")).to_contain_text("HNI")
    expect(page.locator("#test-result tr.finding")).to_contain_text("ws-hni-7")
    screenshot(page, "rule-test-run")
    assert not DetectionRule.objects.get(pk=rule.pk).alerts.exists()
    assert page.evaluate("window.__violations") == []
    # The one refused save answers 400 (the form with its errors), as it should; nothing else failed.
    assert watch.failed_responses == [f"400 {server.base}/rules/{rule.pk}/"]
    watch.failed_responses.clear()
    watch.assert_clean()
