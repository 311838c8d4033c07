"""``manage.py revoke_api_tokens USERNAME (--name NAME | --prefix PREFIX | --all)``: revoke
a user's tokens, e.g. one that leaked (its prefix is the start of the token, and is shown by
``list_api_tokens`` and ``GET /api/tokens/``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.management.commands.create_api_token import UNKNOWN_USER
from labeling.services.api_tokens import api_tokens_revoke

SAY_WHICH = "Say which tokens: --name, --prefix or --all."


class Command(BaseCommand):
    help = "Revoke USERNAME's API tokens by name, by prefix, or all of them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default=None)
        parser.add_argument("--prefix", default=None, help="e.g. tlo_1a2b3c4d")
        parser.add_argument("--all", action="store_true", dest="revoke_all")

    def handle(
        self,
        *args: Any,
        username: str,
        name: str | None,
        prefix: str | None,
        revoke_all: bool,
        **options: Any,
    ) -> None:
        if name is None and prefix is None and not revoke_all:
            raise CommandError(SAY_WHICH)
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(UNKNOWN_USER.format(username=username))
        count = api_tokens_revoke(user=user, name=name, prefix=prefix)
        self.stdout.write(f"Revoked {count} token(s) of {username}.")
