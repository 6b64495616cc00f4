"""Celery entry points for notifications: take ids, call a service, retry with backoff."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from accounts.times import local_stamp, zone_of
from notifications.models import DeliveryStatus, Notification, WebhookDelivery
from notifications.services import sla_notices_send, task_notices_send, webhook_attempt, webhook_give_up
from soc.queues import Queue

WEBHOOK_MAX_RETRIES = 6


@shared_task(bind=True, queue=Queue.NOTIFICATIONS, acks_late=True, ignore_result=True,
             max_retries=WEBHOOK_MAX_RETRIES)
def deliver_webhook(self: Task, delivery_id: int) -> None:
    """Idempotent: a delivered (or given-up) delivery is never sent again."""
    delivery = WebhookDelivery.objects.select_related("target").filter(
        pk=delivery_id, status=DeliveryStatus.PENDING).first()
    if delivery is None or webhook_attempt(delivery=delivery):
        return
    if self.request.retries >= WEBHOOK_MAX_RETRIES:
        webhook_give_up(delivery=delivery)
        return
    # 10 s, 20 s, 40 s ... about 10 minutes in all.
    raise self.retry(countdown=10 * 2 ** self.request.retries)


@shared_task(queue=Queue.NOTIFICATIONS, acks_late=True, ignore_result=True)
def send_sla_notices() -> int:
    return sla_notices_send(now=timezone.now())


@shared_task(queue=Queue.NOTIFICATIONS, acks_late=True, ignore_result=True)
def send_task_reminders() -> int:
    """Overdue tasks, each reminded about once (notifications.services.task_notices_send)."""
    return task_notices_send(now=timezone.now())


@shared_task(queue=Queue.NOTIFICATIONS, acks_late=True, ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_email(notification_id: int) -> None:
    note = Notification.objects.select_related("user").filter(pk=notification_id, emailed_at__isnull=True).first()
    if note is None or not note.user.email:
        return
    # When it happened, in the recipient's own zone with the zone shown (accounts.times).
    at = local_stamp(note.created_at, zone=zone_of(note.user))
    send_mail(subject=f"[SOC] {note.text[:120]}", message=f"{note.text}\n\n{at}",
              from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[note.user.email])
    Notification.objects.filter(pk=note.pk).update(emailed_at=timezone.now())
