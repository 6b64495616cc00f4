from django.contrib import admin

from notifications.models import Notification, WebhookDelivery, WebhookTarget


@admin.register(WebhookTarget)
class WebhookTargetAdmin(admin.ModelAdmin[WebhookTarget]):
    """Platform admins only: this is where a private-network target can be allowed."""

    list_display = ("name", "organisation", "url", "enabled", "allow_private")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ("target", "kind", "status", "attempts", "response_status", "created_at")
    list_filter = ("status", "kind")
    readonly_fields = ("target", "kind", "payload", "status", "attempts", "response_status", "error",
                       "created_at", "delivered_at")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("user", "kind", "text", "created_at", "read_at")
