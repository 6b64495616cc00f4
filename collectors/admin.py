from django.contrib import admin

from collectors.models import Collector


@admin.register(Collector)
class CollectorAdmin(admin.ModelAdmin[Collector]):
    list_display = ["name", "organisation", "last_seen_at", "revoked_at"]
    exclude = ["secret_hash"]
