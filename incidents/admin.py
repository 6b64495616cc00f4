from django.contrib import admin

from incidents.models import Incident, SlaPolicy, TimelineEntry
from soc.admin import ReadOnlyAdmin


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin[Incident]):
    """Read-only: changes go through the console or API so they are audited and broadcast."""

    list_display = ["key", "title", "severity", "status", "province", "created_at"]
    list_filter = ["severity", "status"]
    search_fields = ["key", "title"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ReadOnlyAdmin[SlaPolicy]):
    """National defaults (the national organisation's rows) and provincial overrides; read-only here, they are
    set in the console or API (incidents.services), which audit them."""

    list_display = ["organisation", "severity", "acknowledge_minutes", "contain_minutes", "resolve_minutes"]
    list_filter = ["severity"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin[TimelineEntry]):
    list_display = ["created_at", "incident", "actor_name", "kind"]
