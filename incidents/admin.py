from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import Incident, SlaPolicy, TimelineEntry


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin[Incident]):
    """Read-only: changes go through the console or API so they are audited and broadcast."""

    list_display = ["key", "title", "severity", "status", "province", "created_at"]
    list_filter = ["severity", "status"]
    search_fields = ["key", "title"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    """National defaults (the national organisation's rows) and provincial overrides."""

    list_display = ["organisation", "severity", "acknowledge_minutes", "contain_minutes", "resolve_minutes"]
    list_filter = ["severity"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin[TimelineEntry]):
    list_display = ["created_at", "incident", "actor_name", "kind"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
