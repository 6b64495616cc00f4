"""Organisations form a tree (national SOC → provinces → sites); users hold roles in them.

Tenancy lives here: ``Organisation.objects.visible_to(user)`` is the one
place that decides which part of the tree a user may see. Every other
queryset scopes itself through it (see ``scope_to_provinces``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Kind(models.TextChoices):
    NATIONAL = "national", _("National SOC")
    PROVINCE = "province", _("Province")
    SITE = "site", _("Agency or site")


class Role(models.TextChoices):
    CENTRAL_LEAD = "central_lead", _("Central lead")
    CENTRAL_ANALYST = "central_analyst", _("Central analyst")
    PROVINCIAL_RESPONDER = "provincial_responder", _("Provincial responder")
    PROVINCIAL_ADMIN = "provincial_admin", _("Provincial admin")
    AUDITOR = "auditor", _("Auditor")
    SERVICE = "service", _("Service account")


CENTRAL_ROLES = frozenset({Role.CENTRAL_LEAD, Role.CENTRAL_ANALYST, Role.AUDITOR})


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> OrganisationQuerySet:
        """The subtrees under every organisation the user is a member of."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        from organisations.selectors import user_grants  # selectors import the models

        paths = [path for path, _ in user_grants(user)]
        if not paths:
            return self.none()
        scope = Q()
        for path in paths:
            scope |= Q(path__startswith=path)
        return self.filter(scope)

    def provinces(self) -> OrganisationQuerySet:
        return self.filter(kind=Kind.PROVINCE)

    def national(self) -> Organisation:
        return self.get(kind=Kind.NATIONAL)


class Organisation(models.Model):
    code = models.CharField(max_length=16, unique=True, help_text="Short code, e.g. HNI for Hà Nội")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Materialised path ("VN/HNI/"): a subtree is one indexed prefix match.
    path = models.CharField(max_length=255, unique=True, editable=False)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.path = f"{self.parent.path if self.parent else ''}{self.code}/"
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def province(self) -> Organisation | None:
        """The province this organisation is, or belongs to (None for national)."""
        node: Organisation | None = self
        while node is not None and node.kind != Kind.PROVINCE:
            node = node.parent
        return node


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="one_role_per_org")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} @ {self.organisation.code}"


class ApiToken(models.Model):
    """A bearer token for an integration or service account; only its sha256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token in lists")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditLogQuerySet(models.QuerySet["AuditLog"]):
    """Append-only: the ORM refuses bulk edits; a database trigger refuses everything else."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("the audit log is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")

    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> AuditLogQuerySet:
        return self.filter(organisation__in=Organisation.objects.visible_to(user))


class AuditLog(models.Model):
    """Who changed what, when, from where, with the values before and after.

    No foreign key to the actor or the changed object: the record must outlive
    both and never be touched by a cascade. ``organisation`` scopes who may read it.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_ref = models.CharField(max_length=64)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_ref"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_ref}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")
