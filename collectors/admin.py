from django.contrib import admin

from collectors.models import Collector, ProvinceRetention


@admin.register(Collector)
class CollectorAdmin(admin.ModelAdmin[Collector]):
    list_display = ["name", "organisation", "last_seen_at", "revoked_at"]
    exclude = ["secret_hash"]


@admin.register(ProvinceRetention)
class ProvinceRetentionAdmin(admin.ModelAdmin[ProvinceRetention]):
    list_display = ["organisation", "days", "updated_at"]
