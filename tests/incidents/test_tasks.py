"""Tasks on an incident: one object with requests for action (a province's task is its request), who may work
or plan which, notes, evidence, assignees, overdue reminders, escalation, "my tasks due today" and the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents.models import Category, Incident, Owner, RequestForAction, RequestStatus
from incidents.selectors import task_list
from incidents.services.evidence import attachment_add
from incidents.services.intake import incident_create
from incidents.services.playbooks import playbook_starter_load
from incidents.services.requests import request_escalate_overdue, request_update
from incidents.services.tasks import task_update
from notifications.models import Kind, Notification
from notifications.services import task_notices_send
from organisations.actors import Actor
from organisations.models import Role
from organisations.services import user_with_role
from soc.beat import beat_schedule
from tests.conftest import PASSWORD, Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(cast: Cast) -> Incident:
    """A brute-force incident of HNI with the starter playbook's tasks (central and provincial)."""
    playbook_starter_load(actor=Actor.system())
    return incident_create(province=cast.hni, title="SSH brute force on hni-web-01",
                           category=Category.INTRUSION_ATTEMPTS, severity="high")


def first(incident: Incident, owner: str) -> RequestForAction:
    task = RequestForAction.objects.filter(incident=incident, owner=owner).order_by("position").first()
    assert task is not None
    return task


def path(task: RequestForAction) -> str:
    return f"/api/v1/incidents/{task.incident.key}/tasks/{task.pk}/"


def test_a_province_task_is_a_request_for_action_and_a_centre_task_is_not(
        cast: Cast, incident: Incident, api: Callable[..., Api]) -> None:
    province, centre = first(incident, Owner.PROVINCE), first(incident, Owner.CENTRAL)
    responder = api(cast.hni_responder)

    listed = [row["id"] for row in responder.get("/api/v1/requests/").json()["results"]]

    assert province.pk in listed and centre.pk not in listed
    assert responder.get(f"/api/v1/requests/{centre.pk}/").status_code == 404
    assert responder.patch(f"/api/v1/requests/{province.pk}/", {"status": "done", "note": "blocked"}).json()[
        "status"] == "done"
    assert RequestForAction.objects.get(pk=province.pk).done_at is not None


def test_the_province_sees_both_kinds_but_works_only_its_own(cast: Cast, incident: Incident,
                                                            api: Callable[..., Api]) -> None:
    province, centre = first(incident, Owner.PROVINCE), first(incident, Owner.CENTRAL)
    responder = api(cast.hni_responder)

    listed = responder.get(f"/api/v1/incidents/{incident.key}/tasks/").json()

    assert {row["owner"] for row in listed["tasks"]} == {"central", "province"}
    assert listed["progress"] == {"done": 0, "total": len(listed["tasks"]), "overdue": 0}
    assert responder.patch(path(centre), {"status": "done"}).status_code == 403
    assert responder.patch(path(province), {"status": "in_progress", "note": "on it"}).json()["status"] == \
        "in_progress"
    # skipping a step or moving its due time is the centre's call, even on the province's own task
    assert responder.patch(path(province), {"status": "not_applicable", "note": "no"}).status_code == 403
    assert responder.patch(path(province), {"due_at": (timezone.now() + timedelta(days=9)).isoformat()}) \
        .status_code == 403


def test_central_staff_work_the_centres_tasks_and_plan_the_provinces(
        cast: Cast, incident: Incident, api: Callable[..., Api]) -> None:
    province, centre = first(incident, Owner.PROVINCE), first(incident, Owner.CENTRAL)
    analyst, auditor = api(cast.analyst), api(cast.auditor)
    later = timezone.now() + timedelta(days=2)

    done = analyst.patch(path(centre), {"status": "done", "note": "no success after the failures",
                                        "assignee": cast.analyst.pk}).json()

    assert (done["status"], done["assignee"], done["progress_note"]) == ("done", "analyst",
                                                                          "no success after the failures")
    assert analyst.patch(path(province), {"status": "done"}).status_code == 403  # the province's work
    assert analyst.patch(path(province), {"due_at": later.isoformat()}).status_code == 200
    assert RequestForAction.objects.get(pk=province.pk).due_at == later
    assert analyst.patch(path(province), {"status": "not_applicable"}).status_code == 400  # a reason is needed
    assert analyst.patch(path(province), {"status": "not_applicable", "note": "no firewall"}).json()["status"] == \
        "not_applicable"
    assert analyst.patch(path(province), {"status": "open"}).json()["status"] == "open"  # reinstated
    assert auditor.patch(path(province), {}).status_code == 403
    assert auditor.patch(path(centre), {"note": "x"}).status_code == 403
    assert api(cast.lead).patch(path(province), {"status": "done", "note": "done for them"}).json()["status"] == \
        "done"  # the central lead holds every right
    entries = incident.timeline.filter(kind="task.updated")
    assert entries.count() == 5 and entries.first().after["task"] == centre.pk  # type: ignore[union-attr]


def test_a_done_task_stays_done_and_help_needs_a_note(cast: Cast, incident: Incident) -> None:
    centre = first(incident, Owner.CENTRAL)
    actor = Actor(user=cast.analyst)

    with pytest.raises(ValidationError, match="help"):
        task_update(task=centre, actor=actor, changes={"status": "help_requested"})
    task_update(task=centre, actor=actor, changes={"status": "done"})
    for status in ("in_progress", "not_applicable", "open"):
        with pytest.raises(ValidationError):
            task_update(task=centre, actor=actor, changes={"status": status, "note": "x"})


def test_assignees_are_of_the_side_that_owns_the_task(cast: Cast, incident: Incident) -> None:
    province, centre = first(incident, Owner.PROVINCE), first(incident, Owner.CENTRAL)
    actor = Actor(user=cast.lead)

    with pytest.raises(ValidationError):
        task_update(task=centre, actor=actor, changes={"assignee": cast.hni_responder.pk})
    with pytest.raises(ValidationError):
        task_update(task=province, actor=actor, changes={"assignee": cast.analyst.pk})
    with pytest.raises(ValidationError):
        task_update(task=province, actor=actor, changes={"assignee": cast.hcm_responder.pk})  # another province
    assert task_update(task=province, actor=actor, changes={"assignee": cast.hni_responder.pk}).assignee == \
        cast.hni_responder
    notice = Notification.objects.get(kind=Kind.TASK_ASSIGNED)
    assert notice.user == cast.hni_responder and province.title in notice.text


def test_evidence_links_only_the_incidents_own_attachments(cast: Cast, incident: Incident, media: Path) -> None:
    province = first(incident, Owner.PROVINCE)
    actor = Actor(user=cast.hni_responder)
    mine = attachment_add(incident=incident, upload=SimpleUploadedFile("fw.txt", b"deny 203.0.113.9"), actor=actor)
    other_incident = incident_create(province=cast.hni, title="other")
    theirs = attachment_add(incident=other_incident, upload=SimpleUploadedFile("x.txt", b"x"), actor=actor)

    with pytest.raises(ValidationError, match="attached to this incident"):
        task_update(task=province, actor=actor, changes={"evidence": [theirs.pk]})
    task_update(task=province, actor=actor, changes={"evidence": [mine.pk], "status": "done", "note": "blocked"})

    assert list(RequestForAction.objects.get(pk=province.pk).evidence.all()) == [mine]
    entry = incident.timeline.filter(kind="task.updated").last()
    assert entry is not None and entry.after["evidence"] == ["fw.txt"]


def test_the_province_is_told_once_about_a_playbooks_tasks_and_the_centres_tasks_ask_nobody(
        cast: Cast, incident: Incident) -> None:
    notices = Notification.objects.filter(kind=Kind.REQUEST)

    assert [n.user for n in notices] == [cast.hni_responder]
    assert incident.key in notices[0].text and "Brute force" in notices[0].text


def test_overdue_tasks_are_reminded_once_to_the_right_people(cast: Cast, incident: Incident) -> None:
    province, centre = first(incident, Owner.PROVINCE), first(incident, Owner.CENTRAL)
    task_update(task=centre, actor=Actor(user=cast.lead), changes={"assignee": cast.analyst.pk})
    Notification.objects.all().delete()
    RequestForAction.objects.filter(pk__in=[province.pk, centre.pk]).update(
        due_at=timezone.now() - timedelta(minutes=1))

    sent, again = task_notices_send(now=timezone.now()), task_notices_send(now=timezone.now())

    assert (sent, again) == (2, 0)
    reminded = {(n.user.username, n.kind) for n in Notification.objects.all()}
    assert reminded == {("analyst", Kind.TASK_OVERDUE), ("hni.responder", Kind.TASK_OVERDUE)}


def test_a_finished_or_skipped_task_is_never_overdue(cast: Cast, incident: Incident) -> None:
    province, centre = first(incident, Owner.PROVINCE), first(incident, Owner.CENTRAL)
    task_update(task=centre, actor=Actor(user=cast.lead), changes={"status": "not_applicable", "note": "n/a"})
    request_update(request=province, status=RequestStatus.DONE, note="", actor=Actor(user=cast.hni_responder))
    RequestForAction.objects.filter(incident=incident).update(due_at=timezone.now() - timedelta(minutes=1))

    overdue = set(RequestForAction.objects.overdue(timezone.now()).values_list("pk", flat=True))

    assert province.pk not in overdue and centre.pk not in overdue and overdue


def test_only_the_provinces_overdue_tasks_escalate(cast: Cast, incident: Incident) -> None:
    RequestForAction.objects.filter(incident=incident).update(due_at=timezone.now() - timedelta(minutes=1))

    escalated = set(request_escalate_overdue(now=timezone.now()))

    assert escalated == set(RequestForAction.objects.filter(incident=incident, owner=Owner.PROVINCE)
                            .values_list("pk", flat=True))


def test_reminders_are_on_beat_with_an_expiry() -> None:
    entry = beat_schedule()["notifications-send-task-reminders"]

    assert entry["task"] == "notifications.tasks.send_task_reminders"
    assert entry["options"]["expires"] <= entry["schedule"]


def test_my_tasks_due_today_in_the_queue_and_the_api(cast: Cast, incident: Incident, api: Callable[..., Api]) -> None:
    centre = first(incident, Owner.CENTRAL)
    task_update(task=centre, actor=Actor(user=cast.lead), changes={"assignee": cast.analyst.pk})
    # Overdue counts as due today, whatever the hour in the reader's zone (a task due in an hour may be tomorrow's).
    RequestForAction.objects.filter(pk=centre.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    later = incident_create(province=cast.hni, title="Next week", category=Category.INTRUSION_ATTEMPTS)
    task_update(task=first(later, Owner.CENTRAL), actor=Actor(user=cast.lead), changes={
        "assignee": cast.analyst.pk, "due_at": timezone.now() + timedelta(days=3)})
    incident_create(province=cast.hni, title="Nobody's", category=Category.INTRUSION_ATTEMPTS)
    analyst = api(cast.analyst)

    listed = [row["key"] for row in analyst.get("/api/v1/incidents/", my_tasks="today").json()["results"]]
    page = analyst.get("/incidents/", my_tasks="today").content.decode()
    RequestForAction.objects.filter(pk=centre.pk).update(status=RequestStatus.DONE)

    assert listed == [incident.key]
    assert incident.key in page and later.key not in page
    assert api(cast.lead).get("/api/v1/incidents/", my_tasks="today").json()["count"] == 0
    assert analyst.get("/api/v1/incidents/", my_tasks="today").json()["count"] == 0


def test_the_api_applies_a_playbook_by_hand_with_the_edit_right(cast: Cast, incident: Incident,
                                                                api: Callable[..., Api]) -> None:
    url = f"/api/v1/incidents/{incident.key}/tasks/"

    assert api(cast.hni_responder).post(url, {"playbook": "ransomware"}).status_code == 403
    made = api(cast.analyst).post(url, {"playbook": "ransomware"})
    again = api(cast.analyst).post(url, {"playbook": "ransomware"})

    assert made.status_code == 201 and {row["playbook"] for row in made.json()} == {"ransomware"}
    assert again.status_code == 200 and again.json() == []
    assert api(cast.analyst).post(url, {"playbook": "nope"}).status_code == 404


def test_an_incident_page_shows_the_checklist_and_the_forms_each_role_may_use(
        cast: Cast, incident: Incident, api: Callable[..., Api]) -> None:
    province, centre = first(incident, Owner.PROVINCE), first(incident, Owner.CENTRAL)
    request_update(request=province, status=RequestStatus.DONE, note="blocked", actor=Actor(user=cast.hni_responder))
    total = RequestForAction.objects.filter(incident=incident).count()
    task_form = '/incidents/{key}/tasks/{pk}/"'

    responder = api(cast.hni_responder).get(f"/incidents/{incident.key}/").content.decode()
    analyst = api(cast.analyst).get(f"/incidents/{incident.key}/").content.decode()

    progress = f'data-done="1" data-total="{total}"'
    assert progress in responder and progress in analyst
    assert centre.title in responder and province.title in responder
    assert task_form.format(key=incident.key, pk=centre.pk) not in responder
    assert task_form.format(key=incident.key, pk=centre.pk) in analyst
    assert 'id="playbook-apply"' in analyst and 'id="playbook-apply"' not in responder


def test_an_incident_page_form_completes_a_task(cast: Cast, incident: Incident, api: Callable[..., Api]) -> None:
    province = first(incident, Owner.PROVINCE)
    client = api(cast.hni_responder).client

    response = client.post(f"/incidents/{incident.key}/tasks/{province.pk}/", {
        "status": "done", "note": "Blocked at the edge", "assignee": str(cast.hni_responder.pk)})

    assert response.status_code == 302
    province.refresh_from_db()
    assert (province.status, province.progress_note, province.assignee) == (
        RequestStatus.DONE, "Blocked at the edge", cast.hni_responder)
    other = user_with_role(username="hcm.admin", password=PASSWORD, organisation=cast.hcm,
                           role=Role.PROVINCIAL_ADMIN)
    assert api(other).client.post(f"/incidents/{incident.key}/tasks/{province.pk}/", {"note": "x"}).status_code == 404


def test_readiness_counts_the_provinces_own_tasks_due_so_far(cast: Cast, incident: Incident) -> None:
    from readiness.sql_measures import requests_overdue
    from readiness.windows import window_for

    today = window_for(timezone.localdate())
    province_tasks = RequestForAction.objects.filter(incident=incident, owner=Owner.PROVINCE).order_by("position")
    late, skipped, *_ = province_tasks
    RequestForAction.objects.filter(pk__in=[late.pk, skipped.pk]).update(due_at=timezone.now() - timedelta(seconds=1))
    RequestForAction.objects.filter(incident=incident, owner=Owner.CENTRAL).update(
        due_at=timezone.now() - timedelta(seconds=1))
    RequestForAction.objects.filter(pk=skipped.pk).update(status=RequestStatus.NOT_APPLICABLE)

    due, overdue = requests_overdue(province=cast.hni, window=today)

    # Only the province's task that was due by now: not the centre's, not a skipped step, not one due tonight.
    assert (due, overdue) == (1, 1)


def test_the_checklist_reads_the_tasks_their_people_playbooks_and_evidence_as_the_orm_does(
        cast: Cast, incident: Incident, media: Path, django_assert_num_queries: Any) -> None:
    province = first(incident, Owner.PROVINCE)
    evidence = attachment_add(incident=incident, upload=SimpleUploadedFile("fw.txt", b"deny"),
                              actor=Actor(user=cast.hni_responder))
    task_update(task=province, actor=Actor(user=cast.lead), changes={"assignee": cast.hni_responder.pk,
                                                                     "evidence": [evidence.pk]})
    RequestForAction.objects.create(incident=incident, province=cast.hni, owner=Owner.CENTRAL,
                                    instructions="by hand", due_at=timezone.now())  # no playbook, no assignee
    expected = list(RequestForAction.objects.filter(incident=incident).order_by("position", "due_at", "id")
                    .select_related("assignee", "province", "playbook_version__playbook").prefetch_related("evidence"))

    with django_assert_num_queries(2):  # the tasks with their related rows; the evidence
        got = _shown(task_list(incident=incident))

    assert got == _shown(expected)
    assert any(task[2] == cast.hni_responder.username and task[5] == [evidence.pk] for task in got)
    assert any(task[2] is None and task[4] is None for task in got)
    assert task_list(incident=incident_create(province=cast.hni, title="no tasks")) == []


def _shown(tasks: list[RequestForAction]) -> list[tuple[Any, ...]]:
    return [(task.pk, task.status, task.assignee and task.assignee.username, task.province.code,
             task.playbook_version and (task.playbook_version.playbook.slug, task.playbook_version.number,
                                        task.playbook_version.name),
             [a.pk for a in task.evidence.all()], task.label, task.due_at) for task in tasks]
