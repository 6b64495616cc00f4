"""Writes for accounts: preferences, sessions, second factor."""

from __future__ import annotations

import zoneinfo
from importlib import import_module

import pyotp
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import Preference, UserSession
from soc.live import user_notify_after_commit

TOTP_STEP = 30


class PreferenceError(ValueError):
    pass


def preference_update(*, user: User, language: str | None = None,
                      time_zone: str | None = None) -> Preference:
    pref, _ = Preference.objects.get_or_create(user=user)
    if language is not None:
        if language and language not in dict(settings.LANGUAGES):
            raise PreferenceError(f"unknown language {language!r}")
        pref.language = language
    if time_zone is not None:
        if time_zone and time_zone not in zoneinfo.available_timezones():
            raise PreferenceError(f"unknown time zone {time_zone!r}")
        pref.time_zone = time_zone
    pref.save(update_fields=["language", "time_zone"])
    return pref


def session_register(*, user: User, session_key: str) -> None:
    UserSession.objects.get_or_create(session_key=session_key, defaults={"user": user})


# Sent to the user's own group; the console socket closes on it (incidents.consumers), so a signed-out or
# deactivated user stops receiving live updates at once, not when the socket next reconnects.
SESSION_ENDED = {"kind": "session.ended"}


def sessions_end_all(*, user_id: int) -> int:
    """End every session the user logged in with, wherever the session backend keeps them, and their sockets."""
    user_notify_after_commit(user_id=user_id, message=SESSION_ENDED)
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(UserSession.objects.filter(user_id=user_id).values_list("session_key", flat=True))
    for key in keys:
        store_class(session_key=key).delete()
    UserSession.objects.filter(user_id=user_id, session_key__in=keys).delete()
    return len(keys)


def totp_begin(*, user: User) -> str:
    """The secret to enrol with; stable until confirmed, so reloading the page does not change it."""
    pref, _ = Preference.objects.get_or_create(user=user)
    if pref.totp_confirmed_at is None and not pref.totp_secret:
        pref.totp_secret = pyotp.random_base32()
        pref.save(update_fields=["totp_secret"])
    return pref.totp_secret


def totp_verify(*, user: User, code: str) -> bool:
    """Accept a code once (±1 step of clock drift); the first valid code confirms enrolment."""
    with transaction.atomic():
        pref = Preference.objects.select_for_update().filter(user=user).first()
        if pref is None or not pref.totp_secret or not code.isdigit() or len(code) != 6:
            return False
        totp = pyotp.TOTP(pref.totp_secret, interval=TOTP_STEP)
        now_step = int(timezone.now().timestamp()) // TOTP_STEP
        for step in (now_step - 1, now_step, now_step + 1):
            if step > pref.totp_last_step and totp.at(step * TOTP_STEP) == code:
                pref.totp_last_step = step
                pref.totp_confirmed_at = pref.totp_confirmed_at or timezone.now()
                pref.save(update_fields=["totp_last_step", "totp_confirmed_at"])
                return True
    return False
