"""Per-user console preferences, second factor, and the sessions each user holds."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Preference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    # Empty: the site default (settings.LANGUAGE_CODE / settings.TIME_ZONE).
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)
    time_zone = models.CharField(max_length=64, blank=True)
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Last accepted 30-second step: a code is accepted once, never replayed.
    totp_last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"preferences of {self.user}"


class UserSession(models.Model):
    """A session key a user logged in with, so logout and deactivation can end them all."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
