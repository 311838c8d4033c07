"""``manage.py list_api_tokens USERNAME``: the user's live tokens (never the tokens
themselves, which are not stored: their prefix tells them apart)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.management.commands.create_api_token import UNKNOWN_USER
from labeling.selectors.api_tokens import api_token_list

NEVER = "never"


class Command(BaseCommand):
    help = "List USERNAME's API tokens that are not revoked: id, prefix, name, dates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(UNKNOWN_USER.format(username=username))
        self.stdout.write("id\tprefix\tname\tcreated\texpires\tlast used")
        for token in api_token_list(user=user):
            dates = (token.created_at, token.expires_at, token.last_used_at)
            shown = [d.isoformat(timespec="seconds") if d else NEVER for d in dates]
            self.stdout.write("\t".join([str(token.pk), token.prefix, token.name, *shown]))
