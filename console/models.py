"""Precomputed dashboard figures.

Trend charts over many weeks would otherwise scan months of incidents on every visit; a periodic task
(console.tasks.refresh_weekly_figures) keeps one row per province and past week, and the dashboard sums the
rows of the provinces in the user's scope. The current week is always counted live.
"""

from __future__ import annotations

from django.db import models

from organisations.models import Organisation


class WeeklyFigures(models.Model):
    """Incidents of one province opened in one week (Monday, in settings.TIME_ZONE): time to acknowledge and to
    resolve (summed seconds with their counts, so means over any set of rows stay exact), and SLA deadlines met
    out of those decided (met, or missed: done late or still not done after the deadline)."""

    province = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    ack_seconds = models.FloatField(default=0)
    ack_count = models.PositiveIntegerField(default=0)
    resolve_seconds = models.FloatField(default=0)
    resolve_count = models.PositiveIntegerField(default=0)
    ack_met = models.PositiveIntegerField(default=0)
    ack_decided = models.PositiveIntegerField(default=0)
    resolve_met = models.PositiveIntegerField(default=0)
    resolve_decided = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["province", "week"], name="one_weekly_figures_per_week")]
        indexes = [models.Index(fields=["week", "province"])]
