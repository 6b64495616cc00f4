"""Reads about users' preferences and roles."""

from __future__ import annotations

from django.conf import settings

from accounts.models import Preference
from organisations.models import Membership, Role
from organisations.selectors import AnyUser

CENTRAL_ROLES = (Role.CENTRAL_LEAD, Role.CENTRAL_ANALYST, Role.AUDITOR)


def preference_of(user: AnyUser) -> Preference | None:
    if not user.is_authenticated:
        return None
    return Preference.objects.filter(user_id=int(user.pk)).first()


def is_central(user: AnyUser) -> bool:
    return user.is_authenticated and Membership.objects.filter(user_id=int(user.pk), role__in=CENTRAL_ROLES).exists()


def totp_required(user: AnyUser) -> bool:
    """A second factor is asked of anyone who enrolled, and of central roles when the setting says so."""
    pref = preference_of(user)
    if pref is not None and pref.totp_confirmed_at is not None:
        return True
    return bool(settings.SOC_TOTP_REQUIRED_FOR_CENTRAL) and is_central(user)
