"""Incidents: the unit of work shared by the central SOC and the provinces."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from organisations.models import Organisation
from organisations.selectors import scope_to_provinces

if TYPE_CHECKING:
    from organisations.selectors import AnyUser


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Status(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in_progress", "In progress"
    CONTAINED = "contained", "Contained"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    FALSE_POSITIVE = "false_positive", "False positive"
    DUPLICATE = "duplicate", "Duplicate"


OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.CONTAINED)


class Category(models.TextChoices):
    """National-CERT taxonomy, modelled on the reference classification CSIRTs use."""

    MALICIOUS_CODE = "malicious_code", "Malicious code"
    AVAILABILITY = "availability", "Availability"
    INFORMATION_GATHERING = "information_gathering", "Information gathering"
    INTRUSION_ATTEMPTS = "intrusion_attempts", "Intrusion attempts"
    INTRUSIONS = "intrusions", "Intrusions"
    INFORMATION_CONTENT_SECURITY = "information_content_security", "Information content security"
    FRAUD = "fraud", "Fraud"
    VULNERABLE = "vulnerable", "Vulnerable"
    OTHER = "other", "Other"


class TLP(models.TextChoices):
    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber_strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


class IncidentQuerySet(models.QuerySet["Incident"]):
    def visible_to(self, user: AnyUser) -> IncidentQuerySet:
        return scope_to_provinces(self, user)  # type: ignore[return-value]

    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


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

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["province", "status", "-created_at"])]
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
