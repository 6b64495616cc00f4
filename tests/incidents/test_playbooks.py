"""Playbooks: the starter set, versions and their audit, and the tasks an incident gets when it opens (every way
in), when its category changes and when one is applied by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from detection.alerts import alert_raise
from detection.engine import ORG, Finding
from detection.models import DetectionRule
from detection.starter import starter_rules_load
from incidents.models import Category, Incident, Owner, Playbook, RequestForAction, RequestStatus
from incidents.services.intake import incident_create, incident_file
from incidents.services.playbooks import STARTER_DIR, playbook_apply, playbook_save, playbook_starter_load
from incidents.services.requests import request_send
from incidents.services.workflow import incident_update
from organisations.actors import Actor
from organisations.models import AuditLog
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db

STARTER = {"web-defacement": Category.INTRUSIONS, "ransomware": Category.MALICIOUS_CODE,
           "brute-force": Category.INTRUSION_ATTEMPTS, "malware-host": Category.MALICIOUS_CODE,
           "data-leak": Category.INFORMATION_CONTENT_SECURITY, "ddos": Category.AVAILABILITY}
STEPS = [{"title": "Look at it", "owner": "central", "due_minutes": 60},
         {"title": "Block it", "owner": "province", "due_minutes": 120, "evidence": "the firewall change"}]


@pytest.fixture
def starter(cast: Cast) -> dict[str, Playbook]:
    playbook_starter_load(actor=Actor.system())
    return {p.slug: p for p in Playbook.objects.all()}


def lead(cast: Cast) -> Actor:
    return Actor(user=cast.lead, ip="192.0.2.1")


def tasks_of(incident: Incident) -> list[RequestForAction]:
    return list(RequestForAction.objects.filter(incident=incident).order_by("position"))


def version_of(task: RequestForAction) -> tuple[str, int]:
    """(playbook slug, version number) a task came from."""
    assert task.playbook_version is not None
    return task.playbook_version.playbook.slug, task.playbook_version.number


def test_the_starter_set_covers_the_six_kinds_each_citing_its_public_source(starter: dict[str, Playbook]) -> None:
    assert {slug: p.category for slug, p in starter.items()} == STARTER
    for playbook in starter.values():
        current = playbook.current()
        assert any(name in current.source for name in ("NIST SP 800-61", "CISA", "SANS")), playbook.slug
        assert len(current.steps) >= 5 and {s["owner"] for s in current.steps} == {"central", "province"}
    assert [p.slug for p in Playbook.objects.filter(default_for_category=True, category=Category.MALICIOUS_CODE)] \
        == ["malware-host"]  # ransomware is applied by hand or by a rule


def test_loading_the_starter_set_again_changes_nothing_and_keeps_a_leads_edits(
        cast: Cast, starter: dict[str, Playbook], tmp_path: Path) -> None:
    playbook_save(playbook=starter["ddos"], actor=lead(cast), values={"name": "DDoS (our way)"})

    again = dict(playbook_starter_load(actor=Actor.system()))
    call_command("load_playbooks")

    assert again["ddos"] == "kept" and again["brute-force"] == "unchanged"
    assert Playbook.objects.get(slug="ddos").name == "DDoS (our way)"
    assert Playbook.objects.get(slug="brute-force").version == 1
    changed = tmp_path / "brute-force.yml"
    changed.write_text((STARTER_DIR / "brute-force.yml").read_text().replace("Brute force and password guessing",
                                                                               "Brute force"))
    assert playbook_starter_load(actor=Actor.system(), folder=tmp_path) == [("brute-force", "updated")]
    assert Playbook.objects.get(slug="brute-force").version == 2


def test_each_save_is_a_new_version_the_old_ones_kept_and_every_save_audited(cast: Cast) -> None:
    playbook = playbook_save(playbook=None, slug="phishing", actor=lead(cast), values={
        "name": "Phishing", "category": Category.FRAUD, "steps": STEPS, "source": "NIST SP 800-61r2"})
    playbook_save(playbook=playbook, actor=lead(cast), values={"steps": [*STEPS, {
        "title": "Warn the users", "owner": "province", "due_minutes": 240}]})
    unchanged = playbook_save(playbook=playbook, actor=lead(cast), values={"name": "Phishing"})

    playbook.refresh_from_db()
    assert playbook.version == unchanged.version == 2
    assert [v.number for v in playbook.versions.all()] == [2, 1]
    assert len(playbook.versions.get(number=1).steps) == 2 and len(playbook.current().steps) == 3
    # keys are made once and kept: the same step keeps its key in the next version
    assert [s["key"] for s in playbook.current().steps] == ["look-at-it", "block-it", "warn-the-users"]
    audit = AuditLog.objects.filter(object_type="playbook", object_ref="phishing").order_by("id")
    assert [(a.action, a.actor_name, a.after["version"]) for a in audit] == [
        ("playbook.created", "lead", 1), ("playbook.updated", "lead", 2)]
    assert "steps" in audit[1].before and "name" not in audit[1].after


@pytest.mark.parametrize("steps, problem", [
    ([], "at least one step"),
    ([{"title": "x", "owner": "nobody", "due_minutes": 5}], "owner"),
    ([{"title": "x", "owner": "central", "due_minutes": 0}], "due_minutes"),
    ([{"title": "", "owner": "central", "due_minutes": 5}], "title"),
    ([{"key": "a", "title": "x", "owner": "central", "due_minutes": 5},
      {"key": "a", "title": "y", "owner": "central", "due_minutes": 5}], "same key"),
])
def test_a_playbook_with_a_bad_step_is_refused(cast: Cast, steps: list[dict[str, object]], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        playbook_save(playbook=None, slug="bad", actor=lead(cast), values={
            "name": "Bad", "category": Category.OTHER, "steps": steps})
    assert not Playbook.objects.exists()


def test_a_new_default_takes_over_its_category(cast: Cast, starter: dict[str, Playbook]) -> None:
    playbook_save(playbook=starter["ransomware"], actor=lead(cast), values={"default_for_category": True})

    defaults = Playbook.objects.filter(category=Category.MALICIOUS_CODE, default_for_category=True)
    assert [p.slug for p in defaults] == ["ransomware"]
    assert AuditLog.objects.get(object_ref="ransomware", action="playbook.updated").after["replaces_default"] \
        == "malware-host"


def test_an_incident_opens_with_its_categorys_playbook_tasks_due_from_now(
        cast: Cast, starter: dict[str, Playbook]) -> None:
    before = timezone.now()
    incident = incident_create(province=cast.hni, title="Brute force on ssh", category=Category.INTRUSION_ATTEMPTS,
                               severity="critical")

    tasks = tasks_of(incident)
    steps = starter["brute-force"].current().steps
    assert [(t.title, t.owner, t.step) for t in tasks] == [(s["title"], s["owner"], s["key"]) for s in steps]
    assert all(t.province == cast.hni and t.status == RequestStatus.OPEN and t.priority == "urgent" for t in tasks)
    assert all(before + timedelta(minutes=s["due_minutes"]) <= t.due_at
               <= timezone.now() + timedelta(minutes=s["due_minutes"]) for t, s in zip(tasks, steps, strict=True))
    assert tasks[0].evidence_expected == steps[0]["evidence"]
    assert incident.timeline.get(kind="playbook.applied").after["playbook"] == "brute-force"


def test_an_incident_of_a_category_without_a_playbook_gets_no_tasks(cast: Cast, starter: dict[str, Playbook]) -> None:
    incident = incident_create(province=cast.hni, title="Scan", category=Category.INFORMATION_GATHERING)

    assert tasks_of(incident) == [] and not incident.timeline.filter(kind="playbook.applied").exists()


def test_a_provinces_filing_gets_the_playbook_too(cast: Cast, starter: dict[str, Playbook]) -> None:
    incident = incident_file(province=cast.hni, title="Site defaced", description="banner", affected_systems="",
                             occurred_at=None, contact="x", category=Category.INTRUSIONS, severity="high",
                             actor=Actor(user=cast.hni_responder))

    assert {t.step for t in tasks_of(incident)} >= {"preserve", "contain", "entry-point"}


def test_the_api_intake_gets_the_playbook_too(cast: Cast, starter: dict[str, Playbook],
                                              api: Callable[..., Api]) -> None:
    response = api(cast.hni_responder).post("/api/v1/incidents/", {
        "province": "HNI", "title": "Our data on a leak site", "description": "d", "contact": "c",
        "category": Category.INFORMATION_CONTENT_SECURITY})

    assert response.status_code == 201
    incident = Incident.objects.get(key=response.json()["key"])
    assert tasks_of(incident)[0].playbook_version == starter["data-leak"].current()


def test_detection_opens_an_incident_with_the_playbook_its_rule_names(
        cast: Cast, starter: dict[str, Playbook], es: object) -> None:
    starter_rules_load(actor=Actor.system())
    rule = DetectionRule.objects.get(name="Successful login after repeated failures")  # category: intrusions
    assert rule.playbook == starter["brute-force"]
    now = timezone.now()

    alert_raise(rule=rule, finding=Finding(group={ORG: "HNI", "source.ip": "203.0.113.77"},
                                           first=now - timedelta(minutes=2), last=now, count=3, key="pb"))

    incident = Incident.objects.get(dedup_key="entity:HNI:ip:203.0.113.77")
    assert incident.category == Category.INTRUSIONS
    assert {t.playbook_version.playbook.slug for t in tasks_of(incident) if t.playbook_version} == {"brute-force"}


def test_a_category_change_brings_the_new_playbook_and_never_deletes_a_task(
        cast: Cast, starter: dict[str, Playbook]) -> None:
    incident = incident_create(province=cast.hni, title="Odd host", category=Category.MALICIOUS_CODE)
    isolate, collect, analyse, *rest = tasks_of(incident)
    isolate.status, collect.status = RequestStatus.DONE, RequestStatus.IN_PROGRESS
    RequestForAction.objects.bulk_update([isolate, collect], ["status"])
    by_hand = request_send(incident=incident, instructions="Call the owner", priority="normal",
                           due_at=timezone.now() + timedelta(hours=2), actor=lead(cast))
    count = RequestForAction.objects.filter(incident=incident).count()

    incident_update(incident=incident, actor=lead(cast), changes={"category": Category.AVAILABILITY})

    after = {t.pk: t for t in RequestForAction.objects.filter(incident=incident)}
    assert after[isolate.pk].status == RequestStatus.DONE  # done stays done
    assert after[collect.pk].status == RequestStatus.IN_PROGRESS  # started stays started
    assert after[analyse.pk].status == RequestStatus.NOT_APPLICABLE and "playbook" in after[analyse.pk].progress_note
    assert all(after[t.pk].status == RequestStatus.NOT_APPLICABLE for t in rest)
    assert after[by_hand.pk].status == RequestStatus.OPEN  # a request sent by hand is never touched
    ddos = [t for t in after.values() if t.playbook_version and t.playbook_version.playbook.slug == "ddos"]
    assert len(ddos) == len(starter["ddos"].current().steps)
    assert len(after) == count + len(ddos)  # nothing deleted
    applied = incident.timeline.filter(kind="playbook.applied").order_by("id").last()
    assert applied is not None and applied.after["reason"] == "category"
    assert sorted(applied.after["not_applicable"]) == sorted([analyse.pk, *(t.pk for t in rest)])


def test_a_category_without_a_playbook_retires_the_unstarted_tasks(cast: Cast, starter: dict[str, Playbook]) -> None:
    incident = incident_create(province=cast.hni, title="DDoS?", category=Category.AVAILABILITY)

    incident_update(incident=incident, actor=lead(cast), changes={"category": Category.FRAUD})

    assert {t.status for t in tasks_of(incident)} == {RequestStatus.NOT_APPLICABLE}
    assert incident.timeline.filter(kind="playbook.retired").exists()


def test_applying_by_hand_replaces_unstarted_tasks_and_twice_adds_nothing(
        cast: Cast, starter: dict[str, Playbook]) -> None:
    incident = incident_create(province=cast.hni, title="Encrypted share", category=Category.MALICIOUS_CODE)

    added = playbook_apply(incident=incident, playbook=starter["ransomware"], actor=lead(cast), reason="manual")
    again = playbook_apply(incident=incident, playbook=starter["ransomware"], actor=lead(cast), reason="manual")

    assert len(added) == len(starter["ransomware"].current().steps) and again == []
    malware = [t for t in tasks_of(incident) if version_of(t)[0] == "malware-host"]
    assert {t.status for t in malware} == {RequestStatus.NOT_APPLICABLE}
    assert [t.position for t in tasks_of(incident)] == sorted(t.position for t in tasks_of(incident))
    assert min(t.position for t in added) > max(t.position for t in malware)


def test_a_playbook_keeps_its_tasks_on_the_version_they_came_from(cast: Cast, starter: dict[str, Playbook]) -> None:
    first = incident_create(province=cast.hni, title="One", category=Category.AVAILABILITY)
    playbook_save(playbook=starter["ddos"], actor=lead(cast), values={"steps": STEPS})
    second = incident_create(province=cast.hni, title="Two", category=Category.AVAILABILITY)

    assert {version_of(t) for t in tasks_of(first)} == {("ddos", 1)}
    assert [(t.title, version_of(t)[1]) for t in tasks_of(second)] == [("Look at it", 2), ("Block it", 2)]
    assert [t.owner for t in tasks_of(second)] == [Owner.CENTRAL, Owner.PROVINCE]
