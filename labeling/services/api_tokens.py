"""Writing API tokens: create one (the only time its secret exists outside the client),
revoke one, and record its last use. The format and the hashing are in labeling.models.tokens.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.models.tokens import ApiToken, token_digest, token_generate, token_prefix
from labeling.services.errors import ServiceError

NAME_REQUIRED = "Give the token a name (what or who uses it)."
NAME_TOO_LONG = "A token's name has at most {max_length} characters."
EXPIRY_IN_THE_PAST = "The expiry {expires_at} is not in the future."
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length or 100
# A request writes last_used_at only when the stored value is older than this: a script
# sending 100 requests a second does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenError(ServiceError):
    pass


@transaction.atomic
def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row (prefix and digest only) and the token itself, which
    the caller shows once and nothing can show again."""
    now = now or timezone.now()
    name = name.strip()
    if not name:
        raise ApiTokenError(NAME_REQUIRED)
    if len(name) > NAME_MAX_LENGTH:
        raise ApiTokenError(NAME_TOO_LONG.format(max_length=NAME_MAX_LENGTH))
    if expires_at is not None and expires_at <= now:
        raise ApiTokenError(EXPIRY_IN_THE_PAST.format(expires_at=expires_at.isoformat()))
    token = token_generate()
    row = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=token_prefix(token),
        digest=token_digest(token),
        created_at=now,
        expires_at=expires_at,
    )
    return row, token


def api_token_expiry(*, days: int | None, now: datetime | None = None) -> datetime | None:
    """The expiry ``days`` from now; None (never) without days."""
    return None if days is None else (now or timezone.now()) + timedelta(days=days)


def api_token_revoke(*, token: ApiToken, now: datetime | None = None) -> ApiToken:
    """Revoke ``token`` from now on. Revoking it again keeps the first revocation time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_tokens_revoke(
    *, user: AbstractBaseUser, name: str | None = None, prefix: str | None = None
) -> int:
    """Revoke the user's live tokens, all of them or those with this name and/or prefix;
    how many were revoked."""
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if name is not None:
        tokens = tokens.filter(name=name.strip())
    if prefix is not None:
        tokens = tokens.filter(prefix=prefix)
    return tokens.update(revoked_at=timezone.now())


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    """Record a use of ``token``, at most one write per LAST_USED_RESOLUTION (one conditional
    UPDATE: concurrent requests do not race on a read)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now
