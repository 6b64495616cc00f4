"""Create an API token for a service account and print its secret once (only its sha256 is kept)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from organisations.actors import Actor
from organisations.models import Role
from organisations.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for an existing service account; the secret is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for, e.g. 'SIEM bridge'")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.filter(username=opts["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {opts['username']!r}")
        if not user.memberships.filter(role=Role.SERVICE).exists():
            raise CommandError(f"{user.username} has no service-account membership; grant one first")
        _, secret = api_token_create(user=user, name=opts["name"], actor=Actor.system())
        self.stdout.write(secret)
