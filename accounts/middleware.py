"""Activate the signed-in user's language and time zone; dates are stored in UTC and shown in local time."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from accounts.selectors import preference_of


class UserPreferenceMiddleware:
    """After AuthenticationMiddleware: the user's choice wins over the browser's Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pref = preference_of(request.user)
        zone = pref.time_zone if pref and pref.time_zone else settings.TIME_ZONE
        timezone.activate(zoneinfo.ZoneInfo(zone))
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
