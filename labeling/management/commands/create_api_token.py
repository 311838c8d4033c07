"""``manage.py create_api_token USERNAME [--name NAME] [--expires-days D] [--rotate]``: create
a token for the user and print it. It is printed once: only its digest is stored
(labeling.models.tokens), so running the command again creates another token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from labeling.services.api_tokens import (
    ApiTokenError,
    api_token_create,
    api_token_expiry,
    api_tokens_revoke,
)

UNKNOWN_USER = "No user named {username!r}."
DEFAULT_NAME = "manage.py create_api_token"


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME (for 'Authorization: Token <token>') and print it; "
        "only its hash is stored, so save it now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default=DEFAULT_NAME, help="what or who uses the token")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="days until the token stops working (default: never)",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="revoke the user's other tokens with this name (replace a token)",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        name: str,
        expires_days: int | None,
        rotate: bool,
        **options: Any,
    ) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(UNKNOWN_USER.format(username=username))
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        try:
            with transaction.atomic():  # a refused name does not revoke the old token
                if rotate:
                    api_tokens_revoke(user=user, name=name)
                _, token = api_token_create(
                    user=user, name=name, expires_at=api_token_expiry(days=expires_days)
                )
        except ApiTokenError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(token)
