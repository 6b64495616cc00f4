from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from collectors.models import Collector
from collectors.selectors import collector_health


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
