"""Province readiness: targets set by the central SOC, the scoring policy, daily snapshots, publication.

A snapshot is the whole scorecard of one province for one local day: the raw
measures, the six dimension scores, the composite score, the level and the
actions. It is recomputed in place (one row per province and day), so a
recomputation for a past period never leaves two versions of a day.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from organisations.models import Organisation
from organisations.selectors import AnyUser, scope_to_provinces

SOURCE_KINDS = ["authentication", "web", "firewall", "endpoint", "dns", "mail"]


def default_checklist() -> list[str]:
    return list(SOURCE_KINDS)


class Level(models.TextChoices):
    READY = "ready", "Ready"
    PARTIAL = "partial", "Partially ready"
    NOT_READY = "not_ready", "Not ready"


class ProvinceTarget(models.Model):
    """What the central SOC expects of a province: how many collectors, which log sources."""

    province = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="readiness_target")
    expected_collectors = models.PositiveIntegerField(default=1)
    required_sources = models.JSONField(default=default_checklist,
                                        help_text=f"Subset of {', '.join(SOURCE_KINDS)}")

    def __str__(self) -> str:
        return f"{self.province.code}: {self.expected_collectors} collectors"

    def clean(self) -> None:
        sources = self.required_sources
        if not isinstance(sources, list) or not all(isinstance(k, str) for k in sources):
            raise ValidationError({"required_sources": "a list of source kinds"})
        unknown = sorted(set(sources) - set(SOURCE_KINDS))
        if unknown:
            raise ValidationError({"required_sources": f"unknown source kinds: {', '.join(unknown)}; "
                                                       f"known: {', '.join(SOURCE_KINDS)}"})


class ScoringPolicy(models.Model):
    """Weights of the six dimensions and the level thresholds; the newest row is in force."""

    weight_connected = models.FloatField(default=30, validators=[MinValueValidator(0)])
    weight_correct = models.FloatField(default=15, validators=[MinValueValidator(0)])
    weight_sufficient = models.FloatField(default=15, validators=[MinValueValidator(0)])
    weight_clean = models.FloatField(default=10, validators=[MinValueValidator(0)])
    weight_live = models.FloatField(default=10, validators=[MinValueValidator(0)])
    weight_response = models.FloatField(default=20, validators=[MinValueValidator(0)])
    ready_threshold = models.FloatField(default=90, validators=[MinValueValidator(0), MaxValueValidator(100)])
    partial_threshold = models.FloatField(default=60, validators=[MinValueValidator(0), MaxValueValidator(100)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(partial_threshold__lte=models.F("ready_threshold")),
                                              name="partial_below_ready")]

    def clean(self) -> None:
        if sum(self.weights().values()) <= 0:
            raise ValidationError("at least one dimension needs a positive weight")
        if self.partial_threshold > self.ready_threshold:
            raise ValidationError("the partially-ready threshold cannot be above the ready threshold")

    def weights(self) -> dict[str, float]:
        return {
            "connected": self.weight_connected, "correct": self.weight_correct,
            "sufficient": self.weight_sufficient, "clean": self.weight_clean,
            "live": self.weight_live, "response": self.weight_response,
        }


class SnapshotQuerySet(models.QuerySet["ReadinessSnapshot"]):
    def visible_to(self, user: AnyUser) -> SnapshotQuerySet:
        return scope_to_provinces(self, user)  # type: ignore[return-value]


class ReadinessSnapshot(models.Model):
    province = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="readiness_snapshots")
    day = models.DateField(help_text="Local day (settings.TIME_ZONE) the measures cover")
    measures = models.JSONField(default=dict)
    dimensions = models.JSONField(default=dict, help_text="Score 0-100 per dimension; null when not measurable")
    score = models.FloatField()
    level = models.CharField(max_length=16, choices=Level.choices)
    actions = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "province__code"]
        constraints = [models.UniqueConstraint(fields=["province", "day"], name="one_snapshot_per_province_day")]

    def __str__(self) -> str:
        return f"{self.province.code} {self.day}: {self.score:.0f}"


class PublishedPeriod(models.Model):
    """A period the central lead released for public announcement; only these are served publicly."""

    start = models.DateField()
    end = models.DateField(help_text="Inclusive")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-end", "-start"]
        constraints = [
            models.UniqueConstraint(fields=["start", "end"], name="one_publication_per_period"),
            models.CheckConstraint(condition=Q(start__lte=models.F("end")), name="period_start_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.start} to {self.end}"
