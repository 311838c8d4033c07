"""Reading API tokens: a user's list, one of theirs, and the row a presented token matches."""

from __future__ import annotations

import hmac

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from labeling.models.tokens import ApiToken, token_digest, token_prefix


def api_token_list(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's tokens that are not revoked (expired ones included, so they can be seen and
    revoked), newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def api_token_get(*, user: AbstractBaseUser, pk: int) -> ApiToken | None:
    """One of the user's tokens, revoked or not; None for another user's token."""
    return ApiToken.objects.filter(user=user, pk=pk).first()


def api_token_find(*, token: str) -> ApiToken | None:
    """The row whose digest matches ``token`` (revoked and expired rows too: the caller says
    why it refuses), with its user. Rows are found by the public prefix, then the digests are
    compared in constant time."""
    digest = token_digest(token)
    for candidate in ApiToken.objects.filter(prefix=token_prefix(token)).select_related("user"):
        if hmac.compare_digest(candidate.digest, digest):
            return candidate
    return None
