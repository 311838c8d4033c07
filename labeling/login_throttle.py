"""Failed-login throttling per client address and username, counted in the cache.

Every password check goes through Django's ``authenticate`` (the login page, the admin's
login, ``POST /api/token/``), so the counting lives in an authentication backend: no login path
can skip it. After ``LOGIN_FAILURE_LIMIT`` failures for one (address, username) within
``LOGIN_FAILURE_WINDOW_SECONDS`` that pair is refused, even with the right password, until the
window ends. The address is ``REMOTE_ADDR`` (a forwarded header could be forged to dodge the
count); behind a proxy every client shares the proxy's address, so the limit then works per
username. A success clears the pair's count.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

LOGIN_THROTTLED = (
    "Too many failed logins for this account from your address; try again in {minutes} minute(s)."
)


def _key(request: HttpRequest, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{address}|{username.casefold()}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def _limit() -> int:
    return int(settings.LOGIN_FAILURE_LIMIT)


def _window() -> int:
    return int(settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_blocked(request: HttpRequest, username: str) -> bool:
    return int(cache.get(_key(request, username), 0)) >= _limit()


def login_failure_record(request: HttpRequest, username: str) -> None:
    key = _key(request, username)
    cache.add(key, 0, timeout=_window())  # the window starts at the first failure
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr: start a new window
        cache.set(key, 1, timeout=_window())


def login_failures_clear(request: HttpRequest, username: str) -> None:
    cache.delete(_key(request, username))


def login_throttled_message() -> str:
    return LOGIN_THROTTLED.format(minutes=max(1, _window() // 60))


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend with the failed-login count above; without a request (tests'
    ``client.login``, scripts) nothing is counted."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        if login_blocked(request, username):
            raise PermissionDenied(login_throttled_message())  # authenticate() stops here
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(request, username)
        else:
            login_failures_clear(request, username)
        return user
