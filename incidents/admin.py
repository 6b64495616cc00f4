from django.contrib import admin

from incidents.models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin[Incident]):
    list_display = ["key", "title", "severity", "status", "province", "created_at"]
    list_filter = ["severity", "status"]
    search_fields = ["key", "title"]
