"""Incidents: the unit of work shared by the central SOC and the provinces."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisations.access import Action, Owner
from organisations.models import Organisation
from organisations.selectors import scope_to_provinces

if TYPE_CHECKING:
    from organisations.selectors import AnyUser


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Status(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    IN_PROGRESS = "in_progress", _("In progress")
    CONTAINED = "contained", _("Contained")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    FALSE_POSITIVE = "false_positive", _("False positive")
    DUPLICATE = "duplicate", _("Duplicate")


OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.CONTAINED)

# The workflow: which status may follow which. Closing is possible from any
# live status (a lead may close noise straight from the queue) but always
# needs a resolution summary; ``duplicate`` is reached only by merging.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.TRIAGED, Status.IN_PROGRESS, Status.FALSE_POSITIVE, Status.CLOSED}),
    Status.TRIAGED: frozenset({Status.IN_PROGRESS, Status.FALSE_POSITIVE, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.CONTAINED, Status.RESOLVED, Status.FALSE_POSITIVE, Status.CLOSED}),
    Status.CONTAINED: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.IN_PROGRESS}),
    Status.FALSE_POSITIVE: frozenset({Status.TRIAGED, Status.CLOSED}),
    Status.DUPLICATE: frozenset(),
}
# Reaching these stops the SLA clock of the same name.
ACKNOWLEDGED = frozenset(set(Status) - {Status.NEW})
CONTAINED_OR_LATER = frozenset({Status.CONTAINED, Status.RESOLVED, Status.CLOSED, Status.FALSE_POSITIVE,
                                Status.DUPLICATE})
RESOLVED_OR_LATER = frozenset({Status.RESOLVED, Status.CLOSED, Status.FALSE_POSITIVE, Status.DUPLICATE})


def status_action(status: str) -> Action:
    """Which right a move to ``status`` needs (the rights themselves: organisations.access)."""
    if status == Status.CLOSED:
        return Action.CLOSE
    if status in (Status.IN_PROGRESS, Status.CONTAINED, Status.RESOLVED):
        return Action.PROGRESS
    return Action.TRIAGE


STATUS_ACTIONS = (Action.TRIAGE, Action.PROGRESS, Action.CLOSE)
BULK_ACTIONS = (Action.TRIAGE, Action.PROGRESS, Action.CLOSE, Action.ASSIGN)


class Category(models.TextChoices):
    """National-CERT taxonomy, modelled on the reference classification CSIRTs use."""

    MALICIOUS_CODE = "malicious_code", _("Malicious code")
    AVAILABILITY = "availability", _("Availability")
    INFORMATION_GATHERING = "information_gathering", _("Information gathering")
    INTRUSION_ATTEMPTS = "intrusion_attempts", _("Intrusion attempts")
    INTRUSIONS = "intrusions", _("Intrusions")
    INFORMATION_CONTENT_SECURITY = "information_content_security", _("Information content security")
    FRAUD = "fraud", _("Fraud")
    VULNERABLE = "vulnerable", _("Vulnerable")
    OTHER = "other", _("Other")


class TLP(models.TextChoices):
    CLEAR = "clear", _("TLP:CLEAR")
    GREEN = "green", _("TLP:GREEN")
    AMBER = "amber", _("TLP:AMBER")
    AMBER_STRICT = "amber_strict", _("TLP:AMBER+STRICT")
    RED = "red", _("TLP:RED")


class IncidentQuerySet(models.QuerySet["Incident"]):
    def visible_to(self, user: AnyUser) -> IncidentQuerySet:
        return scope_to_provinces(self, user)  # type: ignore[return-value]

    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def sla_breached(self, now: datetime) -> IncidentQuerySet:
        """Any clock past due while running, or stopped after its due time."""
        return self.filter(
            Q(acknowledged_at__isnull=True, ack_due_at__lt=now) | Q(acknowledged_at__gt=F("ack_due_at"))
            | Q(contained_at__isnull=True, contain_due_at__lt=now) | Q(contained_at__gt=F("contain_due_at"))
            | Q(resolved_at__isnull=True, resolve_due_at__lt=now) | Q(resolved_at__gt=F("resolve_due_at"))
        )


class Incident(models.Model):
    key = models.CharField(max_length=32, unique=True, help_text="Human-readable id, e.g. HNI-2026-0042")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=40, choices=Category.choices, default=Category.OTHER)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    tlp = models.CharField(max_length=16, choices=TLP.choices, default=TLP.AMBER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    province = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="incidents")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set for incidents opened by detection: one open incident per rule + entity.
    dedup_key = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    alert_count = models.PositiveIntegerField(default=0)
    owner = models.CharField(max_length=16, choices=Owner.choices, default=Owner.CENTRAL)
    resolution_summary = models.TextField(blank=True)
    mitre_techniques = models.JSONField(default=list, blank=True, help_text="ATT&CK ids, e.g. T1110.001")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Provincial intake.
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    affected_systems = models.TextField(blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    contact = models.CharField(max_length=200, blank=True)
    # SLA clocks: due times are set from the policy at creation and on severity change.
    ack_due_at = models.DateTimeField(null=True, blank=True)
    contain_due_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    contained_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["province", "status", "-created_at"]),
            models.Index(fields=["-created_at", "-id"]),
        ]
        constraints = [
            # Two detection workers racing on the same entity still make one incident.
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=Q(status__in=OPEN_STATUSES) & ~Q(dedup_key=""),
                name="one_open_incident_per_dedup_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"


class IncidentSequence(models.Model):
    """Next number for human-readable ids, per province and year."""

    province = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["province", "year"], name="one_sequence_per_year")]


class SlaPolicy(models.Model):
    """Minutes to acknowledge, contain and resolve per severity.

    The row of the national organisation is the default; a province's row overrides it.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="sla_policies")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    acknowledge_minutes = models.PositiveIntegerField()
    contain_minutes = models.PositiveIntegerField()
    resolve_minutes = models.PositiveIntegerField()
    # Where configured, clocks run only Monday to Friday between these local times (settings.TIME_ZONE).
    business_hours_only = models.BooleanField(default=False)
    business_day_start = models.TimeField(default=time(8, 0))
    business_day_end = models.TimeField(default=time(17, 0))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "severity"], name="one_sla_per_severity"),
            models.CheckConstraint(condition=Q(business_day_start__lt=F("business_day_end")),
                                   name="business_day_starts_before_it_ends"),
        ]

    def __str__(self) -> str:
        return f"SLA {self.organisation.code} {self.severity}"


class TimelineEntry(models.Model):
    """What happened to an incident, in order; moves with it when merged."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    created_at = models.DateTimeField(default=timezone.now)
    actor_name = models.CharField(max_length=150)
    kind = models.CharField(max_length=48)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind}"


class Comment(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.incident_id}"


class ObservableKind(models.TextChoices):
    IP = "ip", _("IP address")
    DOMAIN = "domain", _("Domain")
    URL = "url", _("URL")
    HASH = "hash", _("File hash")
    ACCOUNT = "account", _("Account")
    HOST = "host", _("Host")
    EMAIL = "email", _("E-mail address")


class Observable(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="observables")
    kind = models.CharField(max_length=16, choices=ObservableKind.choices)
    value = models.CharField(max_length=2048, help_text="Normalised (see incidents.observables)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind", "value"], name="one_observable_per_incident"),
        ]
        indexes = [models.Index(fields=["kind", "value"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class RequestStatus(models.TextChoices):
    """Where a task (a request for action is a province's task) stands."""

    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    HELP_REQUESTED = "help_requested", _("Help requested")
    DONE = "done", _("Done")
    # A playbook step that does not apply to this incident (skipped by the centre, or left behind when the
    # incident's category changed before anyone started it). Kept, never deleted: the checklist shows it.
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


# A task in one of these is finished: never overdue, never reminded about.
TASK_CLOSED = (RequestStatus.DONE, RequestStatus.NOT_APPLICABLE)


def task_work_action(owner: str) -> Action:
    """The right to work a task (progress, notes, evidence, assignee): the centre's own tasks need TASK_WORK,
    a province's (its requests for action) REQUEST_WORK, as requests always have."""
    return Action.TASK_WORK if owner == Owner.CENTRAL else Action.REQUEST_WORK


def task_plan_action(owner: str) -> Action:
    """The right to plan a task (due time, skipping it as not applicable, reinstating it): whoever sets the
    centre's own work, or whoever may ask a province for action."""
    return Action.TASK_WORK if owner == Owner.CENTRAL else Action.REQUEST_SEND


def is_plan_move(current: str, status: str) -> bool:
    """A move that plans a task (skip it as not applicable, reinstate a skipped one) rather than works it."""
    return status == RequestStatus.NOT_APPLICABLE or current == RequestStatus.NOT_APPLICABLE


def task_actions(*, owner: str, current: str, changes: dict[str, object]) -> set[Action]:
    """The rights a change to a task needs, field by field (see task_work_action and task_plan_action)."""
    planning = bool(changes.get("status")) and is_plan_move(current, str(changes["status"]))
    needed = set()
    for name in changes:
        # A note sent with a plan move is its reason (why the step does not apply), part of the planning.
        if name == "due_at" or (name in ("status", "note") and planning):
            needed.add(task_plan_action(owner))
        else:
            needed.add(task_work_action(owner))
    return needed


class Playbook(models.Model):
    """What to do about one kind of incident: ordered steps, each for the central SOC or the province.

    One playbook per taxonomy category is that category's default (``default_for_category``); others are
    applied by a detection rule that names them (``detection.DetectionRule.playbook``) or by hand. Every save
    is a new ``PlaybookVersion``; ``version`` is the number in force, old versions stay readable.
    """

    slug = models.SlugField(max_length=64, unique=True, help_text="Stable name, e.g. brute-force")
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=40, choices=Category.choices)
    default_for_category = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category"], condition=Q(default_for_category=True),
                                    name="one_default_playbook_per_category"),
        ]

    def __str__(self) -> str:
        return self.name

    def current(self) -> PlaybookVersion:
        return self.versions.get(number=self.version)


class PlaybookVersion(models.Model):
    """One saved state of a playbook, never changed afterwards (tasks point at the version they came from).

    ``steps``: ``[{"key", "title", "owner" (central|province), "due_minutes", "evidence", "instructions"}]`` in
    order; ``key`` stays the same across versions for the same step (incidents.services.playbooks checks them).
    """

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source = models.TextField(blank=True, help_text="The public guidance it follows (NIST SP 800-61r2, CISA...)")
    steps = models.JSONField(default=list)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["playbook", "number"], name="one_row_per_playbook_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"


class RequestForActionQuerySet(models.QuerySet["RequestForAction"]):
    def visible_to(self, user: AnyUser) -> RequestForActionQuerySet:
        return scope_to_provinces(self, user)  # type: ignore[return-value]

    def overdue(self, now: datetime) -> RequestForActionQuerySet:
        return self.filter(due_at__lt=now).exclude(status__in=TASK_CLOSED)

    def requests(self) -> RequestForActionQuerySet:
        """Requests for action: the province's tasks (the centre's own tasks are not asks to anyone)."""
        return self.filter(owner=Owner.PROVINCE)


class RequestForAction(models.Model):
    """A task on an incident, by a due time: for the central SOC itself, or for the incident's province.

    A province's task is what the platform has always called a request for action: the centre asks the
    province to act (request pages, API, escalation when overdue). Playbooks add tasks of both kinds
    (``playbook_version`` and ``step`` say which step a task came from); ``position`` orders the checklist.
    ``province`` is always the incident's province: it scopes who sees the task, whoever owns it.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="requests")
    province = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    owner = models.CharField(max_length=16, choices=Owner.choices, default=Owner.PROVINCE)
    title = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    instructions = models.TextField()
    evidence_expected = models.TextField(blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=20, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    due_at = models.DateTimeField()
    progress_note = models.TextField(blank=True)
    playbook_version = models.ForeignKey(PlaybookVersion, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="tasks")
    step = models.CharField(max_length=64, blank=True)
    evidence: models.ManyToManyField[Attachment, Any] = models.ManyToManyField("Attachment", blank=True,
                                                                              related_name="tasks")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    objects = RequestForActionQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"]),
                   models.Index(fields=["assignee", "status", "due_at"])]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.owner}) on {self.incident_id}"

    @property
    def overdue(self) -> bool:
        return self.status not in TASK_CLOSED and self.due_at < timezone.now()

    @property
    def closed(self) -> bool:
        return self.status in TASK_CLOSED

    @property
    def label(self) -> str:
        """What the task is, in a line: its title, or the start of a request's instructions."""
        return self.title or self.instructions.split("\n", 1)[0][:120]


class Attachment(models.Model):
    """Evidence: stored under MEDIA_ROOT (never served by the web server), only downloaded through a scoped view."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to="evidence/%Y/%m/")
    name = models.CharField(max_length=255, help_text="Sanitised original file name")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class SavedFilter(models.Model):
    """A user's named incident-list filter (the query string of the list). Private to its owner."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000, help_text="status=new&severity=high…, known filter keys only")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_filter_name_per_user")]

    def __str__(self) -> str:
        return self.name
