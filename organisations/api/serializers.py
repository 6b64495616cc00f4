from __future__ import annotations

from typing import Any

from rest_framework import serializers

from organisations.models import AuditLog, Kind, Membership, Organisation, Role


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


class OrganisationSerializer(serializers.ModelSerializer[Organisation]):
    parent_code = serializers.CharField(source="parent.code", read_only=True, allow_null=True)

    class Meta:
        model = Organisation
        fields = ["code", "name", "kind", "parent_code"]
        read_only_fields = fields


class OrganisationCreateSerializer(serializers.Serializer[dict[str, Any]]):
    parent_code = serializers.CharField(max_length=16, help_text="Code of the organisation it sits below")
    code = serializers.CharField(max_length=16, help_text="Permanent short code, e.g. HNI-DOT")
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=[Kind.PROVINCE, Kind.SITE], default=Kind.SITE)


class OrganisationRenameSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=200)
