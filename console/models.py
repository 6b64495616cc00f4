"""Precomputed dashboard figures, and saved event searches.

Trend charts over many weeks would otherwise scan months of incidents on every visit; a periodic task
(console.tasks.refresh_weekly_figures) keeps one row per province and past week, and the dashboard sums the
rows of the provinces in the user's scope. The current week is always counted live.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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


class Sharing(models.TextChoices):
    PRIVATE = "private", _("Only me")
    PROVINCE = "province", _("My province")
    NATIONAL = "national", _("Every province")


class SavedSearchQuerySet(models.QuerySet["SavedSearch"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> SavedSearchQuerySet:
        """The user's own searches, those shared with an organisation in (or above) the user's scope, and those
        shared nationally. A province's share is never visible in another province."""
        homes = list(Organisation.objects.visible_to(user).filter(memberships__user_id=int(user.pk or 0))
                     .values_list("path", flat=True))
        if not homes:
            return self.none()
        scope = Q(owner_id=user.pk) | Q(sharing=Sharing.NATIONAL)
        shared = Q(organisation__in=Organisation.objects.visible_to(user))
        shared |= Q(organisation__path__in=[prefix for path in homes for prefix in _prefixes(path)])
        return self.filter(scope | (Q(sharing=Sharing.PROVINCE) & shared))


def _prefixes(path: str) -> list[str]:
    """"VN/HNI/X/" → ["VN/", "VN/HNI/", "VN/HNI/X/"]: a site's member sees its province's shares."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]


class SavedSearch(models.Model):
    """A named event search (its query string: query, range, filters, columns, sort).

    ``organisation`` is where the owner saved it from: a province share is seen by that organisation's
    subtree and by the organisations above it (the centre); a national share by everyone.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    sharing = models.CharField(max_length=16, choices=Sharing.choices, default=Sharing.PRIVATE)
    query = models.CharField(max_length=4000, help_text="the event search's query string (q, range, f, nf, cols, sort)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SavedSearchQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="one_search_name_per_owner")]

    def __str__(self) -> str:
        return self.name
