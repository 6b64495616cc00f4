"""Revoke a service account's API tokens by name (or all of them), audited; they stop working at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from organisations.actors import Actor
from organisations.models import ApiToken
from organisations.services import api_token_revoke


class Command(BaseCommand):
    help = "Revoke the API tokens of a user with this name (or --all of them); each revocation is audited."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", nargs="?", help="the token's name as given at creation")
        parser.add_argument("--all", action="store_true", help="every token of the user")

    def handle(self, *args: Any, **opts: Any) -> None:
        if bool(opts["name"]) == opts["all"]:
            raise CommandError("give a token name or --all, not both")
        tokens = ApiToken.objects.select_related("user").filter(user__username=opts["username"],
                                                                  revoked_at__isnull=True)
        if opts["name"]:
            tokens = tokens.filter(name=opts["name"])
        revoked = sum(api_token_revoke(token=token, actor=Actor.system()) for token in tokens)
        if not revoked:
            raise CommandError(f"no active token of {opts['username']!r} matches")
        self.stdout.write(f"revoked {revoked} token(s)")
