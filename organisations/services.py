"""Writes for organisations and memberships."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from organisations.models import Kind, Membership, Organisation
from organisations.provinces import NATIONAL_CODE, NATIONAL_NAME, PROVINCES


def organisation_tree_ensure() -> Organisation:
    """The national SOC and the 34 provinces below it; idempotent."""
    with transaction.atomic():
        national, _ = Organisation.objects.get_or_create(
            code=NATIONAL_CODE, defaults={"name": NATIONAL_NAME, "kind": Kind.NATIONAL})
        for code, name in PROVINCES:
            Organisation.objects.get_or_create(
                code=code, defaults={"name": name, "kind": Kind.PROVINCE, "parent": national})
    return national


def membership_grant(*, user: AbstractBaseUser, organisation: Organisation, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user, organisation=organisation, defaults={"role": role})
    return membership


def user_with_role(*, username: str, password: str, organisation: Organisation, role: str) -> AbstractBaseUser:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    membership_grant(user=user, organisation=organisation, role=role)
    return user
