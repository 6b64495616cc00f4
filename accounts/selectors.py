"""Reads about users' preferences and roles."""

from __future__ import annotations

from django.conf import settings

from accounts.models import Preference
from organisations.models import Membership
from organisations.selectors import AnyUser


def preference_of(user: AnyUser) -> Preference | None:
    if not user.is_authenticated:
        return None
    return Preference.objects.filter(user_id=int(user.pk)).first()


def totp_enrolled(pref: Preference | None) -> bool:
    return pref is not None and pref.totp_confirmed_at is not None


def totp_required_by_role(user: AnyUser) -> bool:
    """A role of the user's is in SOC_TOTP_REQUIRED_ROLES (no query when the setting names none)."""
    roles = settings.SOC_TOTP_REQUIRED_ROLES
    return (bool(roles) and user.is_authenticated
            and Membership.objects.filter(user_id=int(user.pk), role__in=roles).exists())


def totp_required(user: AnyUser) -> bool:
    """Asked at sign-in of anyone who enrolled, of staff (the admin trusts this door alone), and of anyone whose
    role requires it."""
    is_staff = bool(getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))
    return totp_enrolled(preference_of(user)) or is_staff or totp_required_by_role(user)
