from django.contrib import admin

from readiness.models import ProvinceTarget, PublishedPeriod, ReadinessSnapshot, ScoringPolicy
from soc.admin import ReadOnlyAdmin

# All read-only: targets and the scoring policy move published readiness scores, and an admin edit leaves no
# audit entry. Targets are set with `manage.py readiness_target_set` (readiness.services.province_target_set,
# audited); a new ScoringPolicy row is the policy in force (from `manage.py shell` until it has an audited path).


@admin.register(ProvinceTarget)
class ProvinceTargetAdmin(ReadOnlyAdmin[ProvinceTarget]):
    list_display = ["province", "expected_collectors", "required_sources"]


@admin.register(ScoringPolicy)
class ScoringPolicyAdmin(ReadOnlyAdmin[ScoringPolicy]):
    list_display = ["created_at", "ready_threshold", "partial_threshold"]


@admin.register(ReadinessSnapshot)
class ReadinessSnapshotAdmin(ReadOnlyAdmin[ReadinessSnapshot]):
    list_display = ["province", "day", "score", "level"]
    list_filter = ["level", "day"]


@admin.register(PublishedPeriod)
class PublishedPeriodAdmin(ReadOnlyAdmin[PublishedPeriod]):
    list_display = ["start", "end", "published_by", "published_at"]
