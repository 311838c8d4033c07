"""Our hooks into django-axes, which counts failed logins and locks them out.

Every password check goes through Django's ``authenticate`` (the login page, the admin's
login, ``POST /api/token/``), and axes' backend, first in AUTHENTICATION_BACKENDS, refuses a
locked (address, username) pair there, even with the right password. The settings
(taxoloop/settings/base.py) lock a pair after LOGIN_FAILURE_LIMIT failures that follow each
other within LOGIN_FAILURE_WINDOW_SECONDS, for that long after the last one. Attempts live in
the database (axes' database handler), so every web process sees the same count whatever
the cache; each test's transaction rolls them back.

Here: the username is counted case-insensitively (``Alice`` and ``alice`` share a count),
a password check without a request (the test client's ``login``, scripts) is let through to
ModelBackend uncounted instead of raising, and the lockout answer says how long to wait: the
login page again with the message (429), or JSON ``{"detail": ...}`` with Retry-After for the
API.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

LOCKED_OUT = "Too many failed logins for this account from your address; try again in {wait}."


def lockout_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the peer's address, never a header the client can set."""
    return request.META.get("REMOTE_ADDR")


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username the count is kept under."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username")
    return username.casefold() if isinstance(username, str) else None


class LockoutBackend(AxesStandaloneBackend):
    """axes' lockout check; with no request there is no address to count against, so the
    check is left to the next backend (as Django's own backends do) instead of raising."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)  # type: ignore[no-any-return]


def lockout_seconds_left(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """Seconds until this (address, username) may try again: the window from its last
    counted failure."""
    window = get_cool_off(request) or timedelta(0)
    last = AccessAttempt.objects.filter(
        ip_address=get_client_ip_address(request),
        username=lockout_username(request, credentials),
    ).aggregate(last=Max("attempt_time"))["last"]
    if last is None:
        return int(window.total_seconds())
    return max(1, math.ceil((last + window - timezone.now()).total_seconds()))


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return LOCKED_OUT.format(wait=f"{minutes} minute{'s' if minutes != 1 else ''}")


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None,
    credentials: dict[str, Any] | None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the answer to a locked-out login, in place of the view's."""
    seconds = lockout_seconds_left(request, credentials)
    message = lockout_message(seconds)
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        form = AuthenticationForm(request, initial={"username": request.POST.get("username")})
        context = {"form": form, "throttled": message, "next": request.POST.get("next", "")}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
