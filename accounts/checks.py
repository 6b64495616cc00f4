"""System checks for sign-in settings: a misspelt role would silently drop the second factor for that role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from organisations.models import Role


@register()
def check_totp_roles(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    unknown = sorted(set(settings.SOC_TOTP_REQUIRED_ROLES) - set(Role.values))
    if not unknown:
        return []
    return [Error(f"SOC_TOTP_REQUIRED_ROLES names unknown roles: {', '.join(unknown)}",
                  hint=f"Use any of: {', '.join(Role.values)}", id="accounts.E001")]
