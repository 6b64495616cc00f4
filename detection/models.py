"""Detection rules, their checkpoints and their run history (state lives here, not in workers)."""

from __future__ import annotations

from django.db import models

from incidents.models import Category, Severity


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold"


class DetectionRule(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    enabled = models.BooleanField(default=True)
    # Kind-specific parameters, validated by detection.engine before saving.
    params = models.JSONField(default=dict)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    category = models.CharField(max_length=40, choices=Category.choices, default=Category.OTHER)
    interval_seconds = models.PositiveIntegerField(default=5)
    # Event time up to which this rule has been evaluated; the next run starts
    # from here (minus the window), so a crash or deploy never skips events.
    checkpoint = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    range_start = models.DateTimeField()
    range_end = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]


class GroupState(models.Model):
    """Per rule and group (e.g. source IP): events up to here already made an alert."""

    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="group_states")
    group_key = models.CharField(max_length=500)
    consumed_until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "group_key"], name="one_state_per_group")]
