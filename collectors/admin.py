from django.contrib import admin

from collectors.models import Collector, ProvinceRetention
from soc.admin import ReadOnlyAdmin


@admin.register(Collector)
class CollectorAdmin(ReadOnlyAdmin[Collector]):
    """Read-only: collectors are enrolled, configured and revoked in the console or API (collectors.services)."""

    list_display = ["name", "organisation", "last_seen_at", "revoked_at"]
    exclude = ["secret_hash"]


@admin.register(ProvinceRetention)
class ProvinceRetentionAdmin(ReadOnlyAdmin[ProvinceRetention]):
    """Read-only: retention is set at /collectors/retention/ or through the API, so every change is audited."""

    list_display = ["organisation", "days", "updated_at"]
