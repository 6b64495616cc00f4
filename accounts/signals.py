"""Session hygiene: remember each login's session; end them all on logout or deactivation."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.http import HttpRequest

from accounts.services import session_register, sessions_end_all


def _on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if request.session.session_key is None:
        request.session.save()
    assert request.session.session_key is not None
    session_register(user=user, session_key=request.session.session_key)


def _on_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        sessions_end_all(user_id=user.pk)


def _on_user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        sessions_end_all(user_id=instance.pk)


def connect() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="accounts.login")
    user_logged_out.connect(_on_logout, dispatch_uid="accounts.logout")
    post_save.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="accounts.deactivate")
