"""Playbooks over the API and in the console: every console user reads them, only the central lead writes them,
each write a new version; a rule names the playbook its incidents get."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from detection.models import DetectionRule
from incidents.models import Category, Playbook
from incidents.services.playbooks import playbook_starter_load
from organisations.actors import Actor
from organisations.models import AuditLog
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db

NEW = {"slug": "phishing", "name": "Phishing", "category": Category.FRAUD, "source": "SANS Incident Handler's Handbook",
       "steps": [{"title": "Find who clicked", "owner": "province", "due_minutes": 120},
                 {"title": "Block the sender", "owner": "central", "due_minutes": 60}]}


@pytest.fixture
def starter(cast: Cast) -> None:
    playbook_starter_load(actor=Actor.system())


@pytest.mark.parametrize("who", ["lead", "analyst", "auditor", "hni_responder"])
def test_every_console_user_reads_the_playbooks(cast: Cast, starter: None, api: Callable[..., Api], who: str) -> None:
    client = api(getattr(cast, who))

    listed = client.get("/api/v1/playbooks/").json()["results"]
    one = client.get("/api/v1/playbooks/ransomware/").json()

    assert len(listed) == 6
    assert one["current"]["version"] == 1 and one["current"]["steps"][0]["key"] == "isolate"
    assert "CISA" in one["current"]["source"]
    assert client.get("/api/v1/playbooks/ransomware/versions/1/").status_code == 200
    assert client.get("/api/v1/playbooks/nope/").status_code == 404


@pytest.mark.parametrize("who", ["analyst", "auditor", "hni_responder"])
def test_only_the_central_lead_writes_playbooks(cast: Cast, starter: None, api: Callable[..., Api], who: str) -> None:
    client = api(getattr(cast, who))

    assert client.post("/api/v1/playbooks/", NEW).status_code == 403
    assert client.patch("/api/v1/playbooks/ddos/", {"name": "x"}).status_code == 403
    assert client.patch("/api/v1/playbooks/ddos/", {}).status_code == 403
    assert not Playbook.objects.filter(slug="phishing").exists()
    assert Playbook.objects.get(slug="ddos").version == 1


def test_the_lead_writes_a_playbook_and_each_change_is_a_version(cast: Cast, api: Callable[..., Api]) -> None:
    lead = api(cast.lead)

    made = lead.post("/api/v1/playbooks/", NEW)
    changed = lead.patch("/api/v1/playbooks/phishing/", {"default_for_category": True, "slug": "renamed"})
    versions = lead.get("/api/v1/playbooks/phishing/versions/").json()["results"]
    bad = lead.patch("/api/v1/playbooks/phishing/", {"steps": [{"title": "x", "owner": "x", "due_minutes": 1}]})

    assert made.status_code == 201 and made.json()["version"] == 1
    assert changed.json()["version"] == 2 and changed.json()["default_for_category"] is True
    assert changed.json()["slug"] == "phishing"  # permanent
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["author"] == "lead"
    assert bad.status_code == 400 and Playbook.objects.get(slug="phishing").version == 2
    assert AuditLog.objects.filter(object_type="playbook", object_ref="phishing").count() == 2
    assert lead.post("/api/v1/playbooks/", NEW).status_code == 400  # the slug is taken


def test_a_rule_names_its_playbook_through_the_rules_api(cast: Cast, starter: None, api: Callable[..., Any]) -> None:
    rule = DetectionRule.objects.create(name="Odd logins", kind="threshold", category=Category.INTRUSIONS, params={
        "query": "event.outcome:failure", "group_by": ["source.ip"], "count": 5, "window_seconds": 60})
    lead = api(cast.lead)

    named = lead.patch(f"/api/v1/rules/{rule.pk}/", {"playbook": "brute-force"})
    cleared = lead.patch(f"/api/v1/rules/{rule.pk}/", {"playbook": None})

    assert named.status_code == 200, named.content
    assert named.json()["playbook"] == "brute-force" and cleared.json()["playbook"] is None
    assert rule.versions.order_by("version").last().snapshot["playbook"] is None  # type: ignore[union-attr]


def test_the_console_pages_list_show_and_edit_playbooks(cast: Cast, starter: None, api: Callable[..., Api]) -> None:
    lead, analyst = api(cast.lead).client, api(cast.analyst).client

    listing = analyst.get("/incidents/playbooks/").content.decode()
    page = analyst.get("/incidents/playbooks/brute-force/").content.decode()

    assert "Brute force and password guessing" in listing and "SSH brute force" not in listing
    assert "Block the source addresses at the perimeter" in page and "NIST SP 800-61" in page
    assert analyst.get("/incidents/playbooks/brute-force/edit/").status_code == 403
    assert analyst.post("/incidents/playbooks/new/", {}).status_code == 403
    form = lead.get("/incidents/playbooks/brute-force/edit/")
    assert form.status_code == 200 and 'name="steps-0-title"' in form.content.decode()
    steps = {"steps-TOTAL_FORMS": "2", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
             "steps-MAX_NUM_FORMS": "40",
             "steps-0-title": "Second", "steps-0-owner": "province", "steps-0-due_minutes": "60", "steps-0-ORDER": "2",
             "steps-1-title": "First", "steps-1-owner": "central", "steps-1-due_minutes": "30", "steps-1-ORDER": "1"}
    saved = lead.post("/incidents/playbooks/new/", {"slug": "phishing", "name": "Phishing", "category": "fraud",
                                                    **steps})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    playbook = Playbook.objects.get(slug="phishing")
    assert [s["title"] for s in playbook.current().steps] == ["First", "Second"]
    edited = lead.post("/incidents/playbooks/phishing/edit/", {
        "name": "Phishing", "category": "fraud", **steps, "steps-0-DELETE": "on"})
    assert edited.status_code == 302
    playbook.refresh_from_db()
    assert playbook.version == 2 and [s["title"] for s in playbook.current().steps] == ["First"]
    old = analyst.get("/incidents/playbooks/phishing/versions/1/").content.decode()
    assert "Second" in old and 'id="older-version"' in old
