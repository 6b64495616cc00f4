"""Collectors registered per province, and their one-time enrollment tokens.

Secrets are stored only as SHA-256 digests: they are long random strings, so
a fast hash is enough, and a database leak does not let anyone ship events.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from organisations.models import Organisation
from organisations.selectors import AnyUser, scope_to_provinces


class CollectorQuerySet(models.QuerySet["Collector"]):
    def visible_to(self, user: AnyUser) -> CollectorQuerySet:
        return scope_to_provinces(self, user, field="organisation")  # type: ignore[return-value]


class Collector(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="collectors")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="Last accepted event batch")
    version = models.CharField(max_length=40, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The last heartbeat's report (spool depth and bytes, oldest unsent age, events/s, drops, errors, inputs).
    health = models.JSONField(default=dict, blank=True)
    # Central configuration (inputs, batch_size, rate_limit) handed to the agent with each heartbeat answer.
    config = models.JSONField(default=dict, blank=True)
    config_version = models.PositiveIntegerField(default=0)
    # Set when the silence check raised an alert; cleared when events flow again.
    silent_since = models.DateTimeField(null=True, blank=True)

    objects = CollectorQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="collector_name_per_org")]

    def __str__(self) -> str:
        return f"{self.organisation.code}/{self.name}"


class EnrollmentToken(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="enrollment_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    collector = models.OneToOneField(Collector, null=True, blank=True, on_delete=models.SET_NULL)


class ProvinceRetention(models.Model):
    """How many days a province's events are kept, where it differs from the national default.

    ``settings.EVENT_RETENTION_DAYS`` applies to every province without a row.
    Days are a floor: see ``collectors.services.event_indices_delete_expired``.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="event_retention",
                                        limit_choices_to={"kind": "province"})
    days = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(3650)])
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organisation.code}: {self.days} days"


class BackfillFormat(models.TextChoices):
    AUTO = "auto", "Recognise it"
    EVTX = "evtx", "Windows event log (.evtx)"
    JSON = "json", "JSON lines (one event per line: Windows, Suricata eve, ECS)"
    TEXT = "text", "Text lines (syslog, sshd, sudo, web access...)"


class BackfillStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Reading"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BackfillUploadQuerySet(models.QuerySet["BackfillUpload"]):
    def visible_to(self, user: AnyUser) -> BackfillUploadQuerySet:
        return scope_to_provinces(self, user, field="organisation")  # type: ignore[return-value]


class BackfillUpload(models.Model):
    """A log file a responder uploaded to have it detected on: its events are stored for ``organisation``
    through the ingest (server-owned fields from ``collector``), by a task (``collectors.tasks``).

    Each upload has its own ``collector`` (revoked from the start: no credential exists for it, no silence
    check looks at it), so the events of one upload are known by their ``agent.id`` and event ids.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="backfill_uploads")
    collector = models.OneToOneField(Collector, on_delete=models.PROTECT, related_name="backfill_upload")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    # Deleted once read: the events are in Elasticsearch, the refused ones in the dead-letter index.
    file = models.FileField(upload_to="backfill/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255)
    size_bytes = models.PositiveBigIntegerField()
    format = models.CharField(max_length=8, choices=BackfillFormat.choices, default=BackfillFormat.AUTO)
    host_name = models.CharField(max_length=255, blank=True, help_text="host.name of text lines without one")
    status = models.CharField(max_length=8, choices=BackfillStatus.choices, default=BackfillStatus.QUEUED)
    error = models.TextField(blank=True)
    events_read = models.PositiveIntegerField(default=0)
    events_stored = models.PositiveIntegerField(default=0)
    events_duplicate = models.PositiveIntegerField(default=0)
    events_refused = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = BackfillUploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.organisation.code}/{self.file_name}"
