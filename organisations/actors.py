"""Who is acting: the user and the address they act from, handed to every service.

Services never read ``request``; views and API build an Actor from it, tasks
use ``Actor.system()``, so the audit log records the same facts whoever calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

from django.contrib.auth.models import User
from django.http import HttpRequest


@dataclass(frozen=True)
class Actor:
    user: User | None
    ip: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = request.user
        return cls(user=user if isinstance(user, User) else None, ip=_client_ip(request))

    @classmethod
    def system(cls) -> Actor:
        return cls(user=None, ip=None)

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else int(self.user.pk)

    @property
    def name(self) -> str:
        return "system" if self.user is None else self.user.get_username()


def _client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR only: behind a proxy, uvicorn --proxy-headers sets it from a trusted hop."""
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ip_address(raw))
    except ValueError:
        return None
