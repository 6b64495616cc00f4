from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import Notification, WebhookDelivery, WebhookTarget
from notifications.services import webhook_target_delete, webhook_target_save
from organisations.actors import Actor
from soc.admin import ReadOnlyAdmin


@admin.register(WebhookTarget)
class WebhookTargetAdmin(admin.ModelAdmin[WebhookTarget]):
    """Platform admins only: this is where a private-network target can be allowed."""

    list_display = ("name", "organisation", "url", "enabled", "allow_private")

    # Every change goes through the services, so each one is in the audit log with who made it and from where.
    def save_model(self, request: HttpRequest, obj: WebhookTarget, form: Any, change: bool) -> None:
        webhook_target_save(target=obj, actor=Actor.from_request(request))

    def delete_model(self, request: HttpRequest, obj: WebhookTarget) -> None:
        webhook_target_delete(target=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookTarget]) -> None:
        for target in queryset:
            webhook_target_delete(target=target, actor=Actor.from_request(request))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin[WebhookDelivery]):
    """The delivery record: what was sent, when, and the answer."""

    list_display = ("target", "kind", "status", "attempts", "response_status", "created_at")
    list_filter = ("status", "kind")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin[Notification]):
    """Each user's own inbox."""

    list_display = ("user", "kind", "text", "created_at", "read_at")
