from django.contrib import admin

from detection.models import DetectionRule, RuleRun


@admin.register(DetectionRule)
class DetectionRuleAdmin(admin.ModelAdmin[DetectionRule]):
    list_display = ["name", "kind", "enabled", "severity", "checkpoint"]


@admin.register(RuleRun)
class RuleRunAdmin(admin.ModelAdmin[RuleRun]):
    list_display = ["rule", "started_at", "duration_ms", "hits", "alerts", "error"]
