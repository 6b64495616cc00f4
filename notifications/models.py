"""In-app notifications, per-user channel preferences, outgoing webhooks and their delivery log."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from organisations.models import Organisation


class Kind(models.TextChoices):
    HIGH_INCIDENT = "incident.high", _("New high-severity incident in my scope")
    ASSIGNED = "incident.assigned", _("Incident assigned to me")
    REQUEST = "request.created", _("Request for action to my province")
    SLA_SOON = "sla.soon", _("SLA about to breach")
    SLA_BREACHED = "sla.breached", _("SLA breached")
    MENTION = "comment.mention", _("Comment mentioning me")
    TASK_ASSIGNED = "task.assigned", _("Task assigned to me")
    TASK_OVERDUE = "task.overdue", _("Task overdue")


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]


class ChannelPreference(models.Model):
    """Which channels a user wants for one kind; no row means the defaults below."""

    DEFAULT_IN_APP = True
    DEFAULT_EMAIL = False

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    in_app = models.BooleanField(default=DEFAULT_IN_APP)
    email = models.BooleanField(default=DEFAULT_EMAIL)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_channel_pref_per_kind")]


def _webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookTarget(models.Model):
    """An organisation's endpoint; it receives events about incidents in that organisation's subtree."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, default=_webhook_secret)
    enabled = models.BooleanField(default=True)
    # Empty: every kind.
    kinds = models.JSONField(default=list, blank=True)
    # Only a platform admin may set this (Django admin): loopback/private/link-local targets.
    allow_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.organisation.code}/{self.name}"

    def clean(self) -> None:
        from notifications.ssrf import UnsafeUrl, webhook_url_check

        try:
            webhook_url_check(self.url, allow_private=self.allow_private)
        except UnsafeUrl as exc:  # a form error on the field, not a server error
            raise ValidationError({"url": str(exc)}) from exc


class IncidentNotice(models.Model):
    """A once-per-incident notice (e.g. an SLA deadline) that has been sent; makes the periodic check idempotent."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    deadline = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "kind", "deadline"], name="one_notice_per_deadline")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    target = models.ForeignKey(WebhookTarget, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
