from django.contrib import admin

from organisations.models import ApiToken, AuditLog, Membership, Organisation
from soc.admin import ReadOnlyAdmin


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin[Organisation]):
    """Read-only: organisations are created and renamed in the console or API (organisations.services)."""

    list_display = ["code", "name", "kind", "path"]
    search_fields = ["code", "name"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin[Membership]):
    """Read-only: roles are granted and revoked in the console or API (organisations.services), audited."""

    list_display = ["user", "organisation", "role"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin[ApiToken]):
    """Tokens are created with ``manage.py api_token_create`` (the secret is shown once), audited."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ["digest"]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin[AuditLog]):
    """Read-only for everyone, superusers included."""

    list_display = ["created_at", "actor_name", "ip", "action", "object_type", "object_ref", "organisation"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_ref", "actor_name"]
