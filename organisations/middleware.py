"""A user's grants are read once per request, never across requests (organisations.selectors.access_read_once)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from organisations.selectors import access_read_once


class AccessReadOncePerRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with access_read_once():
            return self.get_response(request)
