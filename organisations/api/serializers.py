from __future__ import annotations

from typing import Any

from rest_framework import serializers

from organisations.models import AuditLog, Membership, Role


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    user = serializers.CharField(source="user.username", read_only=True)
    organisation = serializers.CharField(source="organisation.code", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "organisation", "role"]
        read_only_fields = fields


class AuditLogSerializer(serializers.ModelSerializer[AuditLog]):
    organisation = serializers.CharField(source="organisation.code", read_only=True)

    class Meta:
        model = AuditLog
        fields = ["id", "created_at", "actor_name", "ip", "action", "object_type", "object_ref", "organisation",
                  "before", "after"]
        read_only_fields = fields


class MembershipGrantSerializer(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField(max_length=150)
    organisation = serializers.CharField(max_length=16, help_text="Organisation code, e.g. HNI")
    role = serializers.ChoiceField(choices=Role.choices)
