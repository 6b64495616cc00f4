"""Apply the signed-in user's preferences: language and time zone (dates are stored in UTC and shown in local
time), and a second factor their role requires but they have not added yet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Preference
from accounts.selectors import preference_of, totp_enrolled, totp_required_by_role
from accounts.times import zone_for

API_PREFIX = "/api/"


class UserPreferenceMiddleware:
    """After AuthenticationMiddleware: the user's choice wins over the browser's Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pref = preference_of(request.user)
        if _must_enrol_first(request, pref):
            return redirect_to_login(request.get_full_path(), login_url=reverse("accounts:totp"))
        # The API answers machines: UTC. Pages are read by people: the user's zone.
        timezone.activate(UTC if request.path.startswith(API_PREFIX) else zone_for(pref))
        if pref and pref.language:
            translation.activate(pref.language)
            request.LANGUAGE_CODE = pref.language
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        if pref and pref.language:
            response.headers["Content-Language"] = pref.language
        return response


# Where a user who owes a second factor may still go: enrolling, and leaving.
_ENROL_EXEMPT = ("accounts:totp", "accounts:language", "logout")


def _must_enrol_first(request: HttpRequest, pref: Preference | None) -> bool:
    """Sessions opened before a role required a second factor (sign-in asks for it since) enrol first.

    Staff are asked at sign-in (accounts.selectors.totp_required), the admin's only door; not here."""
    if not request.user.is_authenticated or totp_enrolled(pref):
        return False
    if request.path in {reverse(name) for name in _ENROL_EXEMPT}:
        return False
    return totp_required_by_role(request.user)
