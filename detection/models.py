"""Detection rules, their versions, checkpoints, run history, alerts and indicators.

State lives here, not in workers: a crash, restart or deploy resumes from the
checkpoint and the alert table, so no window is skipped and no alert doubled.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from incidents.models import Category, Incident, Severity
from organisations.models import Organisation


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold"
    SIGMA = "sigma", "Sigma"
    CORRELATION = "sigma_correlation", "Sigma correlation"
    SEQUENCE = "sequence", "Sequence"
    INDICATOR = "indicator_match", "Indicator match"
    NEW_TERM = "new_term", "New term"
    SILENCE = "silence", "Silent source"


class DetectionRule(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    enabled = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    # None: runs on every province's events; otherwise on this organisation's subtree only.
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="detection_rules")
    # Kind-specific parameters as the author wrote them (for Sigma: {"yaml": ...}).
    params = models.JSONField(default=dict)
    # What the engine runs, derived from params on save (Sigma converted once, not per cycle).
    compiled = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    category = models.CharField(max_length=40, choices=Category.choices, default=Category.OTHER)
    # The playbook an incident this rule opens gets, instead of its category's default one.
    playbook = models.ForeignKey("incidents.Playbook", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="rules")
    tactics = models.JSONField(default=list, blank=True)
    techniques = models.JSONField(default=list, blank=True)
    # [{"field": "user.name", "values": ["backup"]}]: matching events never make an alert.
    exceptions = models.JSONField(default=list, blank=True)
    interval_seconds = models.PositiveIntegerField(default=5)
    # Late events (timestamp older than the checkpoint when they arrive) are caught by re-reading
    # this much before the checkpoint; alert ids make the re-read free of duplicates.
    lookback_seconds = models.PositiveIntegerField(default=300, help_text="Re-read this much before the checkpoint")
    delay_seconds = models.PositiveIntegerField(default=2, help_text="Leave events this recent to the next run")
    use_ingest_time = models.BooleanField(default=False, help_text="Select events on event.ingested")
    max_alerts_per_run = models.PositiveIntegerField(default=200)
    suppress_seconds = models.PositiveIntegerField(default=0, help_text="Quiet period per rule and entity")
    version = models.PositiveIntegerField(default=1)
    # Event time up to which this rule has been evaluated; the next run starts
    # from here (minus the window), so a crash or deploy never skips events.
    checkpoint = models.DateTimeField(null=True, blank=True)
    # Arrival time (event.ingested) up to which back-filled events (soc.backfill) have been evaluated.
    backfill_checkpoint = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_errors = models.PositiveIntegerField(default=0)
    # The latest live run, kept on the rule because a quiet run (nothing found, nothing wrong) writes no
    # RuleRun row: the rules page and /metrics read these. last_cycle_ms: time since the live run before it.
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_cycle_ms = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class RuleProvinceState(models.Model):
    """A national rule switched off (or back on) for one province: its events are left out of every run."""

    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="province_states")
    province = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["province__path"]
        constraints = [models.UniqueConstraint(fields=["rule", "province"], name="one_state_per_rule_province")]


class RuleVersion(models.Model):
    """Every saved edit of a rule, as it was: who changed what, and what ran when."""

    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="one_row_per_rule_version")]


class RuleRun(models.Model):
    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    range_start = models.DateTimeField()
    range_end = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Seconds between the previous checkpoint and where a normal run would have started.
    gap_seconds = models.PositiveIntegerField(default=0)
    # True when the run stopped at the back-fill cap: the next run continues from here.
    backfill_capped = models.BooleanField(default=False)
    alert_cap_hit = models.BooleanField(default=False)
    # The search stopped at its time limit (server-side or the client's): the window is read again next run.
    timed_out = models.BooleanField(default=False)
    # A back-fill pass: events that arrived as history (soc.backfill), selected by arrival; range_* are the
    # events' own times.
    backfill_pass = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
        # A rule's history and its latest run (the rules page) are read newest first, per rule.
        indexes = [models.Index(fields=["rule", "-started_at"], name="rulerun_rule_newest")]


class RuleRunDay(models.Model):
    """One rule's runs of one UTC day. Quiet runs (``quiet_runs``: no hits, alerts, error, gap or cap, not
    back-fill) are counted here as they happen and never get a row; the others keep their ``RuleRun`` row for
    DETECTION_RUN_KEEP_DAYS and are added here when folded (``rule_runs_fold``)."""

    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="run_days")
    day = models.DateField()
    runs = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    timed_out = models.PositiveIntegerField(default=0)
    backfill_runs = models.PositiveIntegerField(default=0)
    quiet_runs = models.PositiveIntegerField(default=0)
    hits = models.PositiveBigIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    duration_ms_total = models.PositiveBigIntegerField(default=0)
    duration_ms_max = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["rule", "day"], name="one_summary_per_rule_day")]
        # /metrics sums today's quiet runs over every rule.
        indexes = [models.Index(fields=["day"], name="rulerunday_day")]


class GroupState(models.Model):
    """Per rule and group (e.g. source IP): events up to here already made an alert."""

    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="group_states")
    group_key = models.CharField(max_length=500)
    consumed_until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "group_key"], name="one_state_per_group")]


class Alert(models.Model):
    """One detection, stored once: ``uid`` is the deterministic id of its Elasticsearch document."""

    uid = models.CharField(max_length=64, unique=True)
    rule = models.ForeignKey(DetectionRule, on_delete=models.CASCADE, related_name="alerts")
    rule_version = models.PositiveIntegerField(default=1)
    province = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="detection_alerts")
    entity_kind = models.CharField(max_length=16, blank=True)  # ip, host, user
    entity_value = models.CharField(max_length=500, blank=True)
    group = models.JSONField(default=dict)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    tactics = models.JSONField(default=list)
    techniques = models.JSONField(default=list)
    # "<index>/<id>" of the matching events, so the console can open each one.
    event_refs = models.JSONField(default=list)
    # Where copies of those events are kept while the alert's incident exists (detection.evidence); "" before.
    evidence_index = models.CharField(max_length=200, blank=True, db_index=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    suppressed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["rule", "entity_kind", "entity_value", "-created_at"])]


class IndicatorType(models.TextChoices):
    IP = "ip", "IP address"
    DOMAIN = "domain", "Domain"
    URL = "url", "URL"
    HASH = "hash", "File hash"


class IndicatorQuerySet(models.QuerySet["Indicator"]):
    def active(self, now: datetime) -> IndicatorQuerySet:
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class Indicator(models.Model):
    """Threat intelligence: a value seen in attacks, from a named source, until it expires."""

    type = models.CharField(max_length=8, choices=IndicatorType.choices)
    value = models.CharField(max_length=2048)
    source = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IndicatorQuerySet.as_manager()

    class Meta:
        ordering = ["type", "value"]
        constraints = [models.UniqueConstraint(fields=["type", "value", "source"], name="one_indicator_per_source")]

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"
