"""``Authorization: Token <token>`` against the hashed tokens of labeling.models.tokens.

DRF's TokenAuthentication parses the header (and gives the ``WWW-Authenticate: Token``
challenge, and drf-spectacular's ``tokenAuth`` scheme); only the look-up is ours.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from labeling.models.tokens import ApiToken
from labeling.selectors.api_tokens import api_token_find
from labeling.services.api_tokens import api_token_touch

INVALID_TOKEN = "Invalid token."  # DRF's wording, kept for clients that match on it
TOKEN_REVOKED = "Token revoked."
TOKEN_EXPIRED = "Token expired."
USER_INACTIVE = "User inactive or deleted."


class ApiTokenAuthentication(TokenAuthentication):
    model = ApiToken

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = api_token_find(token=key)
        if token is None:
            raise AuthenticationFailed(INVALID_TOKEN)
        now = timezone.now()
        if token.revoked_at is not None:
            raise AuthenticationFailed(TOKEN_REVOKED)
        if token.is_expired(now):
            raise AuthenticationFailed(TOKEN_EXPIRED)
        if not token.user.is_active:
            raise AuthenticationFailed(USER_INACTIVE)
        api_token_touch(token=token, now=now)
        return token.user, token
