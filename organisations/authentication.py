"""Token authentication for integrations: ``Authorization: Token <secret>`` (or ``Bearer``).

Only the sha256 of a token is stored (organisations.models.ApiToken), so a
database leak does not hand out working credentials. Scope is not cached:
the token resolves to a user, and every query still goes through that user's
current memberships.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from organisations.services import api_token_authenticate

KEYWORDS = ("token", "bearer")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be '<Token|Bearer> <secret>'")
        token = api_token_authenticate(secret=header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or inactive token")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token scheme in the OpenAPI schema."""

    target_class = "organisations.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Service-account token: `Token <secret>` "
                "or `Bearer <secret>`"}
