from rest_framework import serializers

from incidents.models import Incident


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    province = serializers.CharField(source="province.code", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "key", "title", "description", "category", "severity", "tlp", "status",
            "province", "created_at", "updated_at", "last_seen_at", "alert_count",
        ]
        read_only_fields = fields
