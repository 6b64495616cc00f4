from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from collectors.models import Collector
from collectors.selectors import RetentionOrigin, collector_health


class CollectorSerializer(serializers.ModelSerializer[Collector]):
    id = serializers.UUIDField(source="uid", read_only=True)
    organisation = serializers.CharField(source="organisation.code", read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Collector
        fields = ["id", "name", "organisation", "status", "version", "created_at", "revoked_at", "last_seen_at",
                  "last_heartbeat_at", "silent_since", "health", "config", "config_version"]
        read_only_fields = fields

    def get_status(self, obj: Collector) -> str:
        return str(collector_health(obj, now=timezone.now()))


class CollectorConfigSerializer(serializers.Serializer[Any]):
    config = serializers.DictField()


class RetentionRowSerializer(serializers.Serializer[Any]):
    organisation = serializers.CharField(source="organisation.code")
    name = serializers.CharField(source="organisation.name")
    days = serializers.IntegerField(help_text="Days this province's events are kept (a floor)")
    origin = serializers.ChoiceField(choices=[origin.value for origin in RetentionOrigin],
                                     help_text="national: the national default; override: the province's own")
    national_days = serializers.IntegerField(help_text="The national default (SOC_EVENT_RETENTION_DAYS)")
    updated_at = serializers.DateTimeField(allow_null=True, help_text="When the override was last set")
    oldest_index = serializers.CharField(allow_null=True, help_text="Oldest daily events index with its events")
    deletable_from = serializers.DateField(
        allow_null=True, help_text="First day (UTC) that index may be deleted; later while a province sharing "
                                   "the day keeps its events longer")


class RetentionSetSerializer(serializers.Serializer[Any]):
    """The PUT body, for the schema; the service checks the days (one clear message for every bad value)."""

    days = serializers.IntegerField(min_value=1, max_value=3650)
