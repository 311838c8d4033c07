"""API tokens: several named tokens per user, each stored as a SHA-256 digest only.

A token reads ``tlo_<prefix>_<secret>``: ``prefix`` is 8 random hex characters kept in the
clear (to find the row, and so that people can tell their tokens apart in a list), ``secret``
is 32 random bytes (``secrets.token_urlsafe``). The row keeps the prefix and the SHA-256 of the
whole token; the token itself is shown once, when it is created. A plain, unsalted hash is
enough here (unlike passwords): the secret has 256 bits of entropy, so no dictionary or brute
force reaches it, and a slow hash would cost every API request. The digest is not keyed with
SECRET_KEY, so rotating that key does not log every script out. Requests find the candidate
rows by prefix and compare digests with ``hmac.compare_digest``.

Why our own model and not django-rest-knox (which also stores digests, expiry and several
tokens per user): knox has no token name, so a list of tokens could not say which is the CI
job's and which the import script's, and no revoked state kept for audit (knox deletes); it
also has its own login view and token format, and we would still need a second table for the
names. The part that has to be right (random secret, digest, constant-time compare, expiry)
is the 40 lines below and in ``labeling.api.authentication``.

Tokens from DRF's ``rest_framework.authtoken`` (40 hex characters, stored in the clear until
migration 0009) were hashed into this table by that migration: their prefix is their first
8 characters, and they keep working.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models

TOKEN_START = "tlo_"
PREFIX_LENGTH = 8  # hex characters after TOKEN_START
LEGACY_PREFIX_LENGTH = 8  # a DRF key's first characters
SECRET_BYTES = 32


def token_generate() -> str:
    """A new token: ``tlo_`` + 8 hex characters + ``_`` + 43 URL-safe characters."""
    return f"{TOKEN_START}{secrets.token_hex(PREFIX_LENGTH // 2)}_{secrets.token_urlsafe(SECRET_BYTES)}"


def token_prefix(token: str) -> str:
    """The public start of a token, which is what the table keeps in the clear."""
    if token.startswith(TOKEN_START):
        return token[: len(TOKEN_START) + PREFIX_LENGTH]
    return token[:LEGACY_PREFIX_LENGTH]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=len(TOKEN_START) + PREFIX_LENGTH, db_index=True)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token, hex")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="empty: never expires")
    # Written at most once a minute per token (labeling.services.api_tokens.api_token_touch).
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A revoked row is kept (who had which token until when); it never authenticates again.
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="apitoken_user_revoked")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and not self.is_expired(now)
