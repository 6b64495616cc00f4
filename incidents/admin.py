from django.contrib import admin

from incidents.models import Incident, Playbook, PlaybookVersion, SlaPolicy, TimelineEntry
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


@admin.register(Playbook)
class PlaybookAdmin(ReadOnlyAdmin[Playbook]):
    """Read-only: playbooks are written in the console or API (versioned and audited by incidents.services)."""

    list_display = ["slug", "name", "category", "default_for_category", "version"]
    list_filter = ["category"]


@admin.register(PlaybookVersion)
class PlaybookVersionAdmin(ReadOnlyAdmin[PlaybookVersion]):
    list_display = ["playbook", "number", "name", "author", "created_at"]
