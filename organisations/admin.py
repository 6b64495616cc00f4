from django.contrib import admin
from django.http import HttpRequest

from organisations.models import ApiToken, AuditLog, Membership, Organisation
from soc.admin import ReadOnlyAdmin


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ["code", "name", "kind", "path"]
    search_fields = ["code", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "organisation", "role"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are created with organisations.services.api_token_create (the secret is shown once)."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "digest", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin[AuditLog]):
    """Read-only for everyone, superusers included."""

    list_display = ["created_at", "actor_name", "ip", "action", "object_type", "object_ref", "organisation"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_ref", "actor_name"]
