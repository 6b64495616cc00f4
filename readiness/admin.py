from django.contrib import admin

from readiness.models import ProvinceTarget, PublishedPeriod, ReadinessSnapshot, ScoringPolicy


@admin.register(ProvinceTarget)
class ProvinceTargetAdmin(admin.ModelAdmin[ProvinceTarget]):
    list_display = ["province", "expected_collectors", "required_sources"]


@admin.register(ScoringPolicy)
class ScoringPolicyAdmin(admin.ModelAdmin[ScoringPolicy]):
    list_display = ["created_at", "ready_threshold", "partial_threshold"]


@admin.register(ReadinessSnapshot)
class ReadinessSnapshotAdmin(admin.ModelAdmin[ReadinessSnapshot]):
    list_display = ["province", "day", "score", "level"]
    list_filter = ["level", "day"]
    readonly_fields = ["measures", "dimensions", "actions"]


@admin.register(PublishedPeriod)
class PublishedPeriodAdmin(admin.ModelAdmin[PublishedPeriod]):
    list_display = ["start", "end", "published_by", "published_at"]
