"""The `make dev` demo's pieces, without running it: the province with a clock running ahead and the province
late to acknowledge (tests/platform/test_make_dev.py plays the whole demo)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.fixtures import Settings

from incidents.models import Incident, Severity, SlaPolicy
from incidents.services.intake import incident_create
from incidents.services.sla import sla_policy_defaults_ensure
from organisations.models import AuditLog, Organisation
from organisations.services import organisation_tree_ensure, user_with_role
from readiness.actions import response_actions
from readiness.sql_measures import response_measures
from readiness.windows import window_for
from soc import demo
from soc.management.commands.seed_demo import DEMO_USERS
from tests.processes import ROOT


def _replay() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_replay", ROOT / "scripts" / "demo_replay.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_replay"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_skewed_provinces_firewall_stamps_its_live_lines_minutes_ahead_and_a_few_hours_ahead() -> None:
    replay = _replay()
    cto = next(p for p in replay.provinces() if p.code == demo.SKEWED_PROVINCE)
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    stamped = [line(now) for name, line in replay.live_script(cto, 40) if name == "firewall.log"]

    local = now.astimezone(replay.TZ)
    ahead = {(datetime.strptime(f"{local.year} {s[:15]}", "%Y %b %d %H:%M:%S").replace(tzinfo=replay.TZ) - now)
             for s in stamped}
    tolerance = timedelta(seconds=900)  # SOC_INGEST_FUTURE_TOLERANCE_SECONDS
    assert ahead == {timedelta(seconds=400), timedelta(seconds=560), timedelta(hours=3)}
    assert sum(1 for s in stamped if s.startswith(f"{local + timedelta(hours=3):%b %e %H:%M}")) == 3
    assert all(t > timedelta(seconds=60) for t in ahead)  # readiness's FUTURE_TOLERANCE_S
    assert sorted(t <= tolerance for t in ahead) == [False, True, True]


def test_every_other_province_writes_its_live_lines_on_time() -> None:
    replay = _replay()
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    for province in replay.provinces():
        if province.code != demo.SKEWED_PROVINCE:
            for _, line in replay.live_script(province, 20):
                rendered = line(now)
                assert f"{now.astimezone(replay.TZ):%H:%M:%S}" in rendered or '"SystemTime"' in rendered


@pytest.fixture
def demo_users(db: None, settings: Settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    sla_policy_defaults_ensure(national=organisation_tree_ensure())
    for username, code, role in DEMO_USERS:
        user_with_role(username=username, password="x", organisation=Organisation.objects.get(code=code), role=role)


def _open(code: str) -> Incident:
    return incident_create(province=Organisation.objects.get(code=code), title="demo", severity=Severity.HIGH)


def test_the_lead_gives_the_late_province_a_one_minute_acknowledgement_target(demo_users: None) -> None:
    demo.demo_sla_override()

    late, other = _open(demo.LATE_PROVINCE), _open(demo.RFA_PROVINCE)

    assert late.ack_due_at is not None and other.ack_due_at is not None
    assert abs(late.ack_due_at - late.created_at - timedelta(minutes=demo.LATE_ACK_MINUTES)) < timedelta(seconds=1)
    assert abs(other.ack_due_at - other.created_at - timedelta(minutes=30)) < timedelta(seconds=1)  # national
    assert SlaPolicy.objects.filter(organisation__code=demo.LATE_PROVINCE).count() == len(Severity.values)
    lead = User.objects.get(username=demo.LEAD)
    assert AuditLog.objects.filter(action="sla_policy.set", actor_id=lead.pk,
                                   object_ref__startswith=f"{demo.LATE_PROVINCE}:").count() == len(Severity.values)


def test_the_late_province_misses_its_sla_and_the_prompt_one_meets_it(demo_users: None) -> None:
    demo.demo_sla_override()
    late, prompt = _open(demo.LATE_PROVINCE), _open(demo.RFA_PROVINCE)
    demo.incidents_acknowledge(code=demo.RFA_PROVINCE, username=demo.RFA_RESPONDER)
    Incident.objects.filter(pk=late.pk).update(ack_due_at=timezone.now() - timedelta(seconds=1))  # a minute on

    acknowledged = demo.incidents_acknowledge_late(code=demo.LATE_PROVINCE, username=demo.LATE_RESPONDER,
                                                   timeout=5)

    assert [i.pk for i in acknowledged] == [late.pk]
    window = window_for(timezone.localdate())
    missed = response_measures(province=Organisation.objects.get(code=demo.LATE_PROVINCE), window=window)
    met = response_measures(province=Organisation.objects.get(code=demo.RFA_PROVINCE), window=window)
    assert (missed.sla_compliance, met.sla_compliance) == (0.0, 1.0)
    assert "100% of incidents missed their SLA in the last 30 days" in [
        a["text"] for a in response_actions(missed.as_dict())]
    assert Incident.objects.get(pk=prompt.pk).acknowledged_at is not None


def test_the_demo_incidents_get_playbook_tasks_and_the_centre_and_the_province_each_finish_one(
        demo_users: None) -> None:
    loaded = dict(demo.demo_playbooks_load())
    assert set(loaded.values()) == {"created"} and len(loaded) == 6
    incident = incident_create(province=Organisation.objects.get(code=demo.RFA_PROVINCE), title="demo",
                               category="intrusion_attempts", severity=Severity.HIGH)

    done = demo.tasks_round_trip(code=demo.RFA_PROVINCE)

    assert [(task.owner, task.status, task.incident_id) for task in done] == [
        ("central", "done", incident.pk), ("province", "done", incident.pk)]
    assert done[0].assignee is not None and done[0].assignee.username == demo.ANALYST
    upcoming = incident.requests.filter(owner="central", status="open").order_by("position").first()
    assert upcoming is not None and upcoming.assignee is not None and upcoming.assignee.username == demo.ANALYST
    assert dict(demo.demo_playbooks_load()) == dict.fromkeys(loaded, "unchanged")


def test_a_rerun_of_the_demo_works_the_first_incident_with_tasks_still_open(demo_users: None) -> None:
    demo.demo_playbooks_load()
    province = Organisation.objects.get(code=demo.RFA_PROVINCE)
    finished = incident_create(province=province, title="an earlier run's", category="intrusion_attempts",
                               severity=Severity.HIGH)
    finished.requests.update(status="done")  # setup: the earlier run's tasks, all done
    assert demo.tasks_round_trip(code=demo.RFA_PROVINCE) == []
    fresh = incident_create(province=province, title="this run's", category="intrusion_attempts",
                            severity=Severity.HIGH)

    done = demo.tasks_round_trip(code=demo.RFA_PROVINCE)

    assert {task.incident_id for task in done} == {fresh.pk} and len(done) == 2
