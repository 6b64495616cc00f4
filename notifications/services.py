"""Notifying people and systems about incidents.

``notify(kind=..., incident=..., recipients=[...])`` is the one entry point for
every app: it keeps only recipients who may see the incident, records in-app
notifications by each recipient's preferences, queues e-mails, and queues one
signed webhook delivery per matching target. Mail and webhooks leave only
after the surrounding transaction commits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import urllib3
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import CharField, Count, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from incidents.models import Incident, Owner, RequestForAction
from notifications.models import (
    ChannelPreference,
    DeliveryStatus,
    IncidentNotice,
    Kind,
    Notification,
    WebhookDelivery,
    WebhookTarget,
)
from notifications.ssrf import UnsafeUrl, webhook_url_check
from organisations.access import ASSIGNEE_ROLES, PROVINCIAL_WORKING_ROLES, WORKING_ROLES
from organisations.actors import Actor
from organisations.models import Kind as OrganisationKind
from organisations.models import Membership, Organisation
from organisations.services import audit_record
from soc.live import user_notify_after_commit
from soc.queues import Queue

MAX_REDIRECTS = 3
# Kinds pushed live to the user's open consoles. A new incident already reaches every console in scope as
# "incident.created", and the incident app pushes "comment.mention" itself: no second live message for those.
LIVE_KINDS = frozenset({Kind.ASSIGNED, Kind.REQUEST, Kind.SLA_SOON, Kind.SLA_BREACHED, Kind.TASK_ASSIGNED,
                        Kind.TASK_OVERDUE})
WEBHOOK_TIMEOUT = urllib3.Timeout(connect=5, read=10)


def notify(*, kind: str, incident: Incident, recipients: Iterable[User],
           text: str = "") -> list[Notification]:
    """Tell ``recipients`` (those of them who may see ``incident``) and the incident's webhooks about ``kind``."""
    text = (text or f"{Kind(kind).label}: {incident.key} {incident.title}")[:500]
    created = []
    for user in _allowed(recipients, incident):
        in_app, email = _channels(user, kind)
        if not (in_app or email):
            continue
        note = Notification.objects.create(user=user, kind=kind, incident=incident, text=text,
                                           read_at=None if in_app else timezone.now())
        created.append(note)
        if in_app and kind in LIVE_KINDS:
            user_notify_after_commit(user_id=user.pk, message={
                "kind": "notification", "notification": {"kind": kind, "text": text, "incident": incident.key}})
        if email and user.email:
            _on_commit_task("notifications.tasks.send_notification_email", note.pk)
    unread_push_after_commit(user_ids=[note.user_id for note in created if note.read_at is None])
    webhooks_dispatch(kind=kind, incident=incident)
    return created


def _allowed(recipients: Iterable[User], incident: Incident) -> list[User]:
    seen: dict[int, User] = {}
    for user in recipients:
        if user.is_active and user.pk not in seen and Incident.objects.visible_to(user).filter(pk=incident.pk).exists():
            seen[user.pk] = user
    return list(seen.values())


def _channels(user: User, kind: str) -> tuple[bool, bool]:
    pref = ChannelPreference.objects.filter(user_id=user.pk, kind=kind).first()
    if pref is None:
        return ChannelPreference.DEFAULT_IN_APP, ChannelPreference.DEFAULT_EMAIL
    return pref.in_app, pref.email


def _on_commit_task(name: str, object_id: int) -> None:
    from soc.celery import app

    # robust: a broker hiccup is logged, never turned into a failure of the incident change that committed.
    transaction.on_commit(lambda: app.send_task(name, args=[object_id], queue=Queue.NOTIFICATIONS), robust=True)


def people_in_scope(incident: Incident) -> list[User]:
    """Working members of the incident's province and of every organisation above it."""
    codes = incident.province.path.strip("/").split("/")
    user_ids = Membership.objects.filter(organisation__code__in=codes, role__in=WORKING_ROLES).values("user_id")
    return list(get_user_model().objects.filter(pk__in=user_ids, is_active=True))


def province_people(province: Organisation) -> list[User]:
    """Working members of one province (requests for action go to the province itself)."""
    user_ids = Membership.objects.filter(organisation=province, role__in=PROVINCIAL_WORKING_ROLES).values("user_id")
    return list(get_user_model().objects.filter(pk__in=user_ids, is_active=True))


def central_people() -> list[User]:
    """Central leads and analysts: who the centre's own tasks fall to while nobody is assigned."""
    user_ids = Membership.objects.filter(organisation__kind=OrganisationKind.NATIONAL,
                                         role__in=ASSIGNEE_ROLES).values("user_id")
    return list(get_user_model().objects.filter(pk__in=user_ids, is_active=True))


def unread_push_after_commit(*, user_ids: list[int]) -> None:
    """Send each user's consoles their unread count (the header badge), counted once the change has committed.

    Counted after commit, not now: two transactions adding notices at once must not leave a stale badge; one
    grouped query for all the users. Inside the commit hook there is no open transaction, so
    ``user_notify_after_commit`` sends at once.
    """
    if not user_ids:
        return

    def push() -> None:
        counts = dict(Notification.objects.filter(user_id__in=user_ids, read_at__isnull=True)
                      .values_list("user_id").annotate(n=Count("id")).values_list("user_id", "n"))
        for user_id in dict.fromkeys(user_ids):
            user_notify_after_commit(user_id=user_id, message={"kind": "notifications.unread",
                                                               "unread": counts.get(user_id, 0)})

    transaction.on_commit(push, robust=True)


def notification_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    changed = unread.update(read_at=timezone.now())
    if changed:
        unread_push_after_commit(user_ids=[user.pk])
    return changed


def _home(user_id: int) -> Organisation | None:
    """The organisation an audit entry about a user's own settings is filed under (who may read it)."""
    return Organisation.objects.filter(memberships__user_id=user_id).order_by("path").first()


def channel_preference_set(*, user: User, kind: str, in_app: bool, email: bool, actor: Actor) -> ChannelPreference:
    """Set one kind's channels; a real change is audited (who turned off SLA e-mails matters after a breach)."""
    with transaction.atomic():
        before = ChannelPreference.objects.filter(user_id=user.pk, kind=kind).first()
        old = {"in_app": before.in_app, "email": before.email} if before else {
            "in_app": ChannelPreference.DEFAULT_IN_APP, "email": ChannelPreference.DEFAULT_EMAIL}
        pref, _ = ChannelPreference.objects.update_or_create(user=user, kind=Kind(kind),
                                                             defaults={"in_app": in_app, "email": email})
        new = {"in_app": in_app, "email": email}
        home = _home(user.pk)
        if new != old and home is not None:
            audit_record(actor=actor, action="notification_preference.changed", object_type="notification_preference",
                         object_ref=f"{user.pk}:{kind}", organisation=home,
                         before={"user": user.get_username(), **old}, after={"user": user.get_username(), **new})
    return pref


WEBHOOK_AUDITED = ("name", "url", "enabled", "kinds", "allow_private", "organisation_id")


def _webhook_state(target: WebhookTarget) -> dict[str, Any]:
    # The secret is never written to the audit log; that it changed is (see webhook_target_save).
    return {field: getattr(target, field) for field in WEBHOOK_AUDITED}


def webhook_target_save(*, target: WebhookTarget, actor: Actor) -> WebhookTarget:
    """Create or change a webhook target (validated against SSRF first) and audit the change."""
    target.full_clean()
    with transaction.atomic():
        previous = WebhookTarget.objects.filter(pk=target.pk).first() if target.pk else None
        before = _webhook_state(previous) if previous else {}
        target.save()
        after = _webhook_state(target)
        if previous is not None and previous.secret != target.secret:
            after["secret"] = "changed"  # noqa: S105 - a marker, not a secret
        if before != after:
            audit_record(actor=actor, action="webhook_target.changed" if previous else "webhook_target.created",
                         object_type="webhook_target", object_ref=str(target.pk), organisation=target.organisation,
                         before=before, after=after)
    return target


def webhook_target_delete(*, target: WebhookTarget, actor: Actor) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="webhook_target.deleted", object_type="webhook_target",
                     object_ref=str(target.pk), organisation=target.organisation, before=_webhook_state(target))
        target.delete()


def webhook_payload(*, kind: str, incident: Incident) -> dict[str, Any]:
    return {"kind": kind, "incident": {
        "key": incident.key, "title": incident.title, "severity": incident.severity, "status": incident.status,
        "category": incident.category, "province": incident.province.code,
        "created_at": incident.created_at.isoformat() if incident.created_at else None}}


def webhooks_dispatch(*, kind: str, incident: Incident) -> list[WebhookDelivery]:
    codes = incident.province.path.strip("/").split("/")
    targets = WebhookTarget.objects.filter(organisation__code__in=codes, enabled=True)
    deliveries = []
    for target in targets:
        if target.kinds and kind not in target.kinds:
            continue
        delivery = WebhookDelivery.objects.create(target=target, kind=kind,
                                                  payload=webhook_payload(kind=kind, incident=incident))
        deliveries.append(delivery)
        _on_commit_task("notifications.tasks.deliver_webhook", delivery.pk)
    return deliveries


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>``; receivers recompute and compare."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def webhook_attempt(*, delivery: WebhookDelivery) -> bool:
    """One delivery attempt (following at most MAX_REDIRECTS checked redirects); the log records it."""
    target = delivery.target
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": "soc-platform-webhook/1",
               "X-SOC-Event": delivery.kind, "X-SOC-Delivery": str(delivery.pk), "X-SOC-Timestamp": timestamp,
               "X-SOC-Signature": webhook_signature(secret=target.secret, timestamp=timestamp, body=body)}
    delivery.attempts += 1
    try:
        status = _post(target.url, body, headers, allow_private=target.allow_private)
        delivery.response_status, delivery.error = status, "" if status < 300 else f"HTTP {status}"
    except (UnsafeUrl, urllib3.exceptions.HTTPError, OSError) as exc:
        delivery.response_status, delivery.error = None, f"{type(exc).__name__}: {exc}"[:1000]
    ok = delivery.response_status is not None and 200 <= delivery.response_status < 300
    if ok:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, timezone.now()
    delivery.save(update_fields=["attempts", "response_status", "error", "status", "delivered_at"])
    return ok


def webhook_give_up(*, delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(status=DeliveryStatus.FAILED)


def _post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool) -> int:
    for _hop in range(MAX_REDIRECTS + 1):
        safe = webhook_url_check(url, allow_private=allow_private)
        pool: urllib3.HTTPConnectionPool
        if safe.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(safe.address, safe.port, server_hostname=safe.host,
                                               assert_hostname=safe.host, timeout=WEBHOOK_TIMEOUT, retries=False)
        else:
            pool = urllib3.HTTPConnectionPool(safe.address, safe.port, timeout=WEBHOOK_TIMEOUT, retries=False)
        with pool:
            response = pool.urlopen("POST", safe.path, body=body, headers={**headers, "Host": _host_header(safe)},
                                    redirect=False, retries=False)
        location = response.headers.get("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            url = urllib3.util.parse_url(location).url if "://" in location else _join(safe, location)
            continue
        return int(response.status)
    raise UnsafeUrl(f"more than {MAX_REDIRECTS} redirects")


def _host_header(safe: Any) -> str:
    default = 443 if safe.scheme == "https" else 80
    return safe.host if safe.port == default else f"{safe.host}:{safe.port}"


def _join(safe: Any, location: str) -> str:
    from urllib.parse import urljoin

    return urljoin(f"{safe.scheme}://{_host_header(safe)}{safe.path}", location)



SLA_SOON_WINDOW = timedelta(minutes=15)
# (deadline field, field that marks it met) on Incident.
SLA_DEADLINES = (("ack_due_at", "acknowledged_at"), ("contain_due_at", "contained_at"),
                 ("resolve_due_at", "resolved_at"))


def sla_notices_send(*, now: datetime, limit: int = 500) -> int:
    """Tell the assignee (or, unassigned, the province and the national SOC) once per deadline:
    when it is within SLA_SOON_WINDOW, and when it has passed. Idempotent through IncidentNotice."""
    sent = 0
    for due_field, met_field in SLA_DEADLINES:
        pending = Incident.objects.open().filter(**{f"{due_field}__isnull": False, f"{met_field}__isnull": True,
                                                    f"{due_field}__lte": now + SLA_SOON_WINDOW})
        for incident in pending.select_related("province", "assignee").order_by(due_field)[:limit]:
            kind = Kind.SLA_BREACHED if getattr(incident, due_field) <= now else Kind.SLA_SOON
            with transaction.atomic():
                _notice, created = IncidentNotice.objects.get_or_create(incident=incident, kind=kind,
                                                                        deadline=due_field)
                if created:
                    recipients = [incident.assignee] if incident.assignee else people_in_scope(incident)
                    notify(kind=kind, incident=incident, recipients=recipients,
                           text=f"{Kind(kind).label} ({due_field.removesuffix('_due_at')}): "
                                f"{incident.key} {incident.title}")
                    sent += 1
    return sent


def task_notice_ref(task_id: int) -> str:
    """The IncidentNotice ``deadline`` that marks a task's overdue reminder as sent."""
    return f"task:{task_id}"


def task_notices_send(*, now: datetime, limit: int = 500) -> int:
    """Remind about each overdue task once (like the SLA notices, idempotent through IncidentNotice): its
    assignee, or while nobody is assigned the side that owns it (the province's working members for a
    province's task; the incident's assignee, else the central leads and analysts, for the centre's).

    Tasks already reminded about are left out in the query, so ``limit`` never starves newer ones."""
    reminded = IncidentNotice.objects.filter(
        incident_id=OuterRef("incident_id"), kind=Kind.TASK_OVERDUE,
        deadline=Concat(Value("task:"), Cast(OuterRef("pk"), output_field=CharField())))
    overdue = (RequestForAction.objects.overdue(now).filter(~Exists(reminded))
               .select_related("incident__province", "incident__assignee", "assignee", "province")
               .order_by("due_at", "id")[:limit])
    sent = 0
    for task in overdue:
        with transaction.atomic():
            _notice, created = IncidentNotice.objects.get_or_create(
                incident=task.incident, kind=Kind.TASK_OVERDUE, deadline=task_notice_ref(task.pk))
            if not created:
                continue
            if task.assignee is not None:
                recipients = [task.assignee]
            elif task.owner == Owner.PROVINCE:
                recipients = province_people(task.province)
            else:
                recipients = [task.incident.assignee] if task.incident.assignee else central_people()
            notify(kind=Kind.TASK_OVERDUE, incident=task.incident, recipients=recipients,
                   text=f"{Kind.TASK_OVERDUE.label}: {task.incident.key} — {task.label}")
            sent += 1
    return sent
