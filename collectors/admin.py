from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from collectors.models import Collector, ProvinceRetention


@admin.register(Collector)
class CollectorAdmin(admin.ModelAdmin[Collector]):
    list_display = ["name", "organisation", "last_seen_at", "revoked_at"]
    exclude = ["secret_hash"]


@admin.register(ProvinceRetention)
class ProvinceRetentionAdmin(admin.ModelAdmin[ProvinceRetention]):
    """Read-only: retention is set at /collectors/retention/ or through the API, so every change is audited."""

    list_display = ["organisation", "days", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
