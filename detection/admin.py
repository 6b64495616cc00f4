from django.contrib import admin
from django.http import HttpRequest

from detection.models import Alert, DetectionRule, Indicator, RuleProvinceState, RuleRun, RuleVersion


@admin.register(DetectionRule)
class DetectionRuleAdmin(admin.ModelAdmin[DetectionRule]):
    list_display = ["name", "kind", "enabled", "organisation", "severity", "version", "checkpoint", "last_error"]
    list_filter = ["kind", "enabled", "severity"]
    search_fields = ["name"]
    readonly_fields = ["compiled", "version", "checkpoint", "next_run_at", "last_error", "consecutive_errors"]


@admin.register(RuleProvinceState)
class RuleProvinceStateAdmin(admin.ModelAdmin[RuleProvinceState]):
    """Read-only here: switches go through the rules page or API, which audit them."""

    list_display = ["rule", "province", "enabled", "changed_at"]
    list_filter = ["enabled", "province"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin[RuleVersion]):
    list_display = ["rule", "version", "author", "created_at"]


@admin.register(RuleRun)
class RuleRunAdmin(admin.ModelAdmin[RuleRun]):
    list_display = ["rule", "started_at", "duration_ms", "hits", "alerts", "gap_seconds", "alert_cap_hit", "error"]
    list_filter = ["alert_cap_hit", "backfill_capped"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin[Alert]):
    list_display = ["uid", "rule", "province", "entity_kind", "entity_value", "incident", "suppressed", "created_at"]
    list_filter = ["province", "suppressed"]


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin[Indicator]):
    list_display = ["type", "value", "source", "expires_at"]
    list_filter = ["type", "source"]
    search_fields = ["value"]
