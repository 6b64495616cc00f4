"""The `make dev` demo beyond ``seed_demo``: the starter pack, a collector per demo province, and the story.

Everything goes through the services a person or an agent would use: collectors ship the demo's log
files through the ingest API, rules open the incidents, and the demo actors (the central lead, the
provincial responders) compute and publish readiness, set a province's SLA, acknowledge incidents (HCM at
once, HNI after its due time) and send and answer a request for action.
The one shortcut: demo collectors are dated back to before the history they replay (see
``demo_collectors_create``), because readiness only counts collectors enrolled on the day it scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.utils import timezone

from collectors.models import Collector
from collectors.services import collector_create
from detection.starter import starter_rules_load
from incidents.models import (
    Incident,
    Owner,
    Priority,
    RequestForAction,
    RequestStatus,
    Severity,
    SlaPolicy,
    Status,
)
from incidents.services.playbooks import playbook_starter_load
from incidents.services.requests import request_send, request_update
from incidents.services.sla import sla_policy_set
from incidents.services.tasks import task_update
from incidents.services.workflow import incident_change_status
from incidents.sla import sla_targets
from organisations.actors import Actor
from organisations.models import Organisation
from readiness.models import PublishedPeriod, ReadinessSnapshot
from readiness.services import period_publish, province_target_set, scorecards_compute, scorecards_recompute
from readiness.windows import window_for
from soc.es import client, events_pattern, index_pattern

# The provinces scripts/demo_replay.py writes logs for, and the log-source kinds each one promises.
DEMO_SOURCES = {
    "HNI": ["authentication", "web", "firewall", "endpoint"],
    "HCM": ["authentication", "web", "firewall", "endpoint"],
    "DNG": ["authentication", "firewall"],
    "HPG": ["authentication", "web", "firewall"],
    "CTO": ["authentication", "web", "firewall", "endpoint"],
    "HUE": ["authentication", "web"],
}
RFA_PROVINCE, RFA_RESPONDER, LEAD, ANALYST = "HCM", "hcm.responder", "lead", "analyst"
# The province late to acknowledge: the lead gives it a demo-sized acknowledgement target, which its responder
# misses; HCM's responder acknowledges at once under the national targets.
LATE_PROVINCE, LATE_RESPONDER, LATE_ACK_MINUTES = "HNI", "hni.responder", 1
# The province with bad timestamps (scripts/demo_replay.py: CTO's firewall clock runs ahead).
SKEWED_PROVINCE = "CTO"
Say = Callable[[str], None]


def collector_name(code: str) -> str:
    return f"{code}-DEMO-01"


def demo_playbooks_load() -> list[tuple[str, str]]:
    """The starter playbooks (playbooks/*.yml), created or refreshed as the system (idempotent): loaded before the
    rules, which name some of them, and before the workers open incidents, so every demo incident has tasks."""
    return playbook_starter_load(actor=Actor.system())


def demo_rules_load() -> int:
    """The 16-rule starter pack, created or refreshed as the system; returns how many loaded. The starter
    playbooks first: rules name them."""
    demo_playbooks_load()
    return sum(1 for _, outcome in starter_rules_load(actor=Actor.system()) if outcome in ("created", "updated"))


def demo_collectors_create(*, folder: Path, history_days: int) -> list[Collector]:
    """A fresh collector per demo province, its credential in ``folder/<CODE>.secret`` (mode 0600).

    Replaces the previous run's (their state went with the demo files). Each is dated back to before
    the history the demo replays: readiness counts a collector only on days it was enrolled.
    """
    folder.mkdir(parents=True, exist_ok=True)
    enrolled = timezone.now() - timedelta(days=history_days + 1)
    created = []
    for code, sources in DEMO_SOURCES.items():
        province = Organisation.objects.get(code=code)
        Collector.objects.filter(organisation=province, name=collector_name(code)).delete()
        collector, secret = collector_create(organisation=province, name=collector_name(code))
        Collector.objects.filter(pk=collector.pk).update(created_at=enrolled)
        province_target_set(province=province, expected_collectors=1, required_sources=sources,
                            actor=Actor.system())
        path = folder / f"{code}.secret"
        path.write_text(secret)
        path.chmod(0o600)
        created.append(collector)
    return created


def demo_sla_override() -> list[SlaPolicy]:
    """The lead sets LATE_PROVINCE's acknowledgement target to LATE_ACK_MINUTES for every severity (audited).

    Before the workers start: new targets apply to incidents opened from then on. Contain and resolve keep
    what the province had, clocks run all the time (a demo may run at night).
    """
    lead = Actor(user=User.objects.get(username=LEAD))
    province = Organisation.objects.get(code=LATE_PROVINCE)
    policies = []
    for severity in Severity.values:
        targets = sla_targets(province=province, severity=severity)
        policies.append(sla_policy_set(organisation=province, severity=severity, actor=lead, values={
            "acknowledge_minutes": LATE_ACK_MINUTES, "contain_minutes": targets.contain_minutes,
            "resolve_minutes": targets.resolve_minutes, "business_hours_only": False}))
    return policies


def history_wait(*, expected: dict[str, int], timeout: float, say: Say) -> bool:
    """Until Elasticsearch holds each province's history (events before today); False on timeout."""
    today = window_for(timezone.localdate()).start
    deadline = time.monotonic() + timeout
    missing = dict(expected)
    while missing and time.monotonic() < deadline:
        client().indices.refresh(index=events_pattern(), allow_no_indices=True, ignore_unavailable=True)
        missing = {code: lines for code, lines in missing.items() if _history_count(code, today) < lines}
        if missing:
            time.sleep(2)
    if missing:
        say(f"history still arriving for {', '.join(sorted(missing))}: scoring what is there")
    return not missing


def _history_count(code: str, before: datetime) -> int:
    """Events before today from this run's collector of the province (an earlier run's are not its history)."""
    uid = Collector.objects.get(organisation__code=code, name=collector_name(code)).uid
    query = {"bool": {"filter": [{"term": {"agent.id": str(uid)}},
                                 {"range": {"@timestamp": {"lt": before.isoformat()}}}]}}
    return int(client().count(index=events_pattern(), query=query, allow_no_indices=True,
                              ignore_unavailable=True)["count"])


def readiness_publish(*, days: int) -> PublishedPeriod:
    """Scorecards for each of the last ``days`` days, then that period published by the central lead."""
    end = timezone.localdate() - timedelta(days=1)
    start: date = end - timedelta(days=days - 1)
    scorecards_recompute(start=start, end=end)
    return period_publish(actor=Actor(user=User.objects.get(username=LEAD)), start=start, end=end)


def live_wait(*, expected: dict[str, int], timeout: float, say: Say) -> bool:
    """Until each province's live lines have arrived today, stored or dead-lettered; False on timeout."""
    today = window_for(timezone.localdate()).start
    deadline = time.monotonic() + timeout
    missing = {code: lines for code, lines in expected.items() if lines}
    while missing and time.monotonic() < deadline:
        for pattern in (events_pattern(), index_pattern("deadletter")):
            client().indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
        missing = {code: lines for code, lines in missing.items() if _arrived_today(code, today) < lines}
        if missing:
            time.sleep(2)
    if missing:
        say(f"live lines still arriving for {', '.join(sorted(missing))}: scoring today with what is there")
    return not missing


def _arrived_today(code: str, today: datetime) -> int:
    """Events dated from midnight on (no end: a clock running ahead) and dead letters (dated by arrival) that
    this run's collector of the province delivered."""
    uid = str(Collector.objects.get(organisation__code=code, name=collector_name(code)).uid)
    query = {"bool": {"filter": [{"term": {"agent.id": uid}}, {"range": {"@timestamp": {"gte": today.isoformat()}}}]}}
    return sum(int(client().count(index=pattern, query=query, allow_no_indices=True, ignore_unavailable=True)["count"])
               for pattern in (events_pattern(), index_pattern("deadletter")))


def readiness_today() -> dict[str, ReadinessSnapshot]:
    """Today's scorecards so far (a day in progress): where the live replay's clocks and SLAs show."""
    return {card.province.code: card for card in scorecards_compute(day=timezone.localdate())}


def incident_wait(*, code: str, timeout: float) -> Incident | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        incident = Incident.objects.filter(province__code=code).order_by("created_at").first()
        if incident is not None:
            return incident
        time.sleep(2)
    return None


def incidents_acknowledge(*, code: str, username: str) -> list[Incident]:
    """The province's responder triages (acknowledges) every new incident of the province."""
    responder = Actor(user=User.objects.get(username=username))
    return [incident_change_status(incident=incident, status=Status.TRIAGED, actor=responder)
            for incident in Incident.objects.filter(province__code=code, status=Status.NEW).order_by("created_at")]


def incidents_acknowledge_late(*, code: str, username: str, timeout: float) -> list[Incident]:
    """As ``incidents_acknowledge``, once every new incident of the province is past its acknowledgement due
    time (at most ``timeout`` seconds from now)."""
    deadline = time.monotonic() + timeout
    incident_wait(code=code, timeout=timeout)
    while time.monotonic() < deadline:
        latest = (Incident.objects.filter(province__code=code, status=Status.NEW, ack_due_at__isnull=False)
                  .order_by("-ack_due_at").values_list("ack_due_at", flat=True).first())
        if latest is None or latest < timezone.now():
            break
        time.sleep(min(2.0, max(0.1, (latest - timezone.now()).total_seconds() + 0.5)))
    return incidents_acknowledge(code=code, username=username)


def request_round_trip(*, incident: Incident) -> RequestForAction:
    """The lead asks the province to act; its responder triages, acknowledges, and reports it done."""
    lead = Actor(user=User.objects.get(username=LEAD))
    responder = Actor(user=User.objects.get(username=RFA_RESPONDER))
    incident.refresh_from_db()  # its responder may have acknowledged it meanwhile
    request = request_send(
        incident=incident, priority=Priority.HIGH, actor=lead, due_at=timezone.now() + timedelta(hours=4),
        instructions="Block the source address at the provincial firewall and check the web server's logs "
                     "for requests that succeeded.")
    if incident.status == Status.NEW:
        incident_change_status(incident=incident, status=Status.TRIAGED, actor=responder)
    request_update(request=request, status=RequestStatus.ACKNOWLEDGED, note="Seen; on it.", actor=responder)
    return request_update(request=request, status=RequestStatus.DONE, actor=responder,
                          note="Address blocked at the provincial firewall; no successful request found.")


def tasks_round_trip(*, code: str) -> list[RequestForAction]:
    """A playbook at work on the province's first incident with playbook tasks: the lead gives the centre's first
    open task to the analyst, who does it, and the province's responder acknowledges and finishes the province's
    first one (as in the console); the centre's next task goes on the analyst's list.

    Returns the tasks finished (none when no incident of the province has open playbook tasks: a ``make dev``
    run after an earlier one on the same data may open no new incident)."""
    incident = (Incident.objects.filter(province__code=code, requests__playbook_version__isnull=False,
                                        requests__status=RequestStatus.OPEN)
                .order_by("created_at").first())
    if incident is None:
        return []
    lead = Actor(user=User.objects.get(username=LEAD))
    analyst = User.objects.get(username=ANALYST)
    responder = Actor(user=User.objects.get(username=RFA_RESPONDER))
    finished = []
    open_tasks = RequestForAction.objects.filter(incident=incident, playbook_version__isnull=False,
                                                 status=RequestStatus.OPEN).order_by("position")
    centre = open_tasks.filter(owner=Owner.CENTRAL).first()
    if centre is not None:
        centre = task_update(task=centre, actor=lead, changes={"assignee": analyst.pk})
        finished.append(task_update(task=centre, actor=Actor(user=analyst), changes={
            "status": RequestStatus.DONE, "note": "Checked in event search: the pattern matches the alert."}))
    province = open_tasks.filter(owner=Owner.PROVINCE).first()
    if province is not None:
        request_update(request=province, status=RequestStatus.ACKNOWLEDGED, note="Seen; on it.", actor=responder)
        finished.append(request_update(request=province, status=RequestStatus.DONE, actor=responder,
                                       note="Done at the provincial end; details in the comments."))
    next_centre = open_tasks.filter(owner=Owner.CENTRAL).first()
    if next_centre is not None:  # something on the analyst's list for today ("My tasks due today")
        task_update(task=next_centre, actor=lead, changes={"assignee": analyst.pk})
    return finished
