from django.contrib import admin

from detection.models import Alert, DetectionRule, Indicator, RuleProvinceState, RuleRun, RuleVersion
from soc.admin import ReadOnlyAdmin


@admin.register(DetectionRule)
class DetectionRuleAdmin(ReadOnlyAdmin[DetectionRule]):
    """Read-only: rules are written at /rules/ or the API (detection.authoring), which compiles and audits them;
    a ``params`` edit here would be ignored by the engine, which runs ``compiled``."""

    list_display = ["name", "kind", "enabled", "organisation", "severity", "version", "checkpoint", "last_error"]
    list_filter = ["kind", "enabled", "severity"]
    search_fields = ["name"]
    readonly_fields = ["compiled", "version", "checkpoint", "next_run_at", "last_error", "consecutive_errors"]


@admin.register(RuleProvinceState)
class RuleProvinceStateAdmin(ReadOnlyAdmin[RuleProvinceState]):
    """Read-only here: switches go through the rules page or API, which audit them."""

    list_display = ["rule", "province", "enabled", "changed_at"]
    list_filter = ["enabled", "province"]


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnlyAdmin[RuleVersion]):
    """A rule's history: written by detection.authoring with each change."""

    list_display = ["rule", "version", "author", "created_at"]


@admin.register(RuleRun)
class RuleRunAdmin(ReadOnlyAdmin[RuleRun]):
    """What the engine did; the rule pages show it too."""

    list_display = ["rule", "started_at", "duration_ms", "hits", "alerts", "gap_seconds", "alert_cap_hit", "error"]
    list_filter = ["alert_cap_hit", "backfill_capped"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin[Alert]):
    """Alerts belong to incidents, which change only through the console or API."""

    list_display = ["uid", "rule", "province", "entity_kind", "entity_value", "incident", "suppressed", "created_at"]
    list_filter = ["province", "suppressed"]


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyAdmin[Indicator]):
    """Indicators change detection results: they come in through ``manage.py import_indicators``."""

    list_display = ["type", "value", "source", "expires_at"]
    list_filter = ["type", "source"]
    search_fields = ["value"]
