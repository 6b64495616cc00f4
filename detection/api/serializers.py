"""Rule, run, version and alert shapes for the API; parsing only, no logic."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from detection.models import Alert, DetectionRule, RuleKind, RuleVersion
from incidents.models import Category, Playbook, Severity
from organisations.models import Organisation


class RuleSerializer(serializers.ModelSerializer[DetectionRule]):
    organisation = serializers.SlugRelatedField(slug_field="code", queryset=Organisation.objects.all(),
                                                allow_null=True, required=False)
    playbook: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True,
        help_text="The playbook its incidents get instead of the category's")

    class Meta:
        model = DetectionRule
        fields = ["id", "name", "kind", "enabled", "description", "organisation", "params", "severity", "category",
                  "playbook", "tactics", "techniques", "exceptions", "interval_seconds", "lookback_seconds",
                  "delay_seconds", "use_ingest_time", "max_alerts_per_run", "suppress_seconds", "version", "checkpoint",
                  "next_run_at", "last_error", "consecutive_errors"]
        read_only_fields = ["id", "version", "checkpoint", "next_run_at", "last_error", "consecutive_errors"]


class RuleInputSerializer(serializers.Serializer[Any]):
    """What an author may send; each field optional on update (PATCH)."""

    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=RuleKind.choices, required=False)
    enabled = serializers.BooleanField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    organisation = serializers.SlugRelatedField(slug_field="code", queryset=Organisation.objects.all(),
                                                allow_null=True, required=False)
    params = serializers.JSONField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    playbook: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", queryset=Playbook.objects.all(), allow_null=True, required=False,
        help_text="Slug of a playbook; null: the category's")
    tactics = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    techniques = serializers.ListField(child=serializers.RegexField(r"^T\d{4}(\.\d{3})?$"), required=False)
    exceptions = serializers.JSONField(required=False)
    interval_seconds = serializers.IntegerField(min_value=1, max_value=86400, required=False)
    lookback_seconds = serializers.IntegerField(min_value=0, max_value=86400, required=False)
    delay_seconds = serializers.IntegerField(min_value=0, max_value=3600, required=False)
    use_ingest_time = serializers.BooleanField(required=False)
    max_alerts_per_run = serializers.IntegerField(min_value=1, max_value=10000, required=False)
    suppress_seconds = serializers.IntegerField(min_value=0, max_value=30 * 86400, required=False)


class RunSerializer(serializers.Serializer[Any]):
    """A ``detection.selectors.RunRow``: hits and alerts are null where the caller may not read the totals."""

    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    range_start = serializers.DateTimeField()
    range_end = serializers.DateTimeField()
    hits = serializers.IntegerField(allow_null=True)
    alerts = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    gap_seconds = serializers.IntegerField()
    backfill_capped = serializers.BooleanField()
    alert_cap_hit = serializers.BooleanField()


class VersionSerializer(serializers.ModelSerializer[RuleVersion]):
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RuleVersion
        fields = ["version", "snapshot", "author", "created_at"]


class ProvinceSwitchSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField()


class ProvinceStateSerializer(serializers.Serializer[Any]):
    province = serializers.CharField()
    enabled = serializers.BooleanField()


class TestRunSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SigmaFileSerializer(serializers.Serializer[Any]):
    path = serializers.CharField(max_length=500)
    yaml = serializers.CharField(max_length=200_000, trim_whitespace=False)


class SigmaImportSerializer(serializers.Serializer[Any]):
    rules = serializers.ListField(child=SigmaFileSerializer(), allow_empty=False, max_length=5000)
    enabled = serializers.BooleanField(default=False)


class IndicatorImportSerializer(serializers.Serializer[Any]):
    format = serializers.ChoiceField(choices=["csv", "stix", "misp"])
    source = serializers.CharField(max_length=200)  # type: ignore[assignment]
    text = serializers.CharField(max_length=20_000_000, trim_whitespace=False)


class AlertSerializer(serializers.ModelSerializer[Alert]):
    rule: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    province: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    incident: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Alert
        fields = ["uid", "rule", "rule_version", "province", "incident", "entity_kind", "entity_value", "group",
                  "severity", "tactics", "techniques", "event_refs", "first_seen", "last_seen", "count",
                  "suppressed", "created_at"]
