"""Scoped request rates: besides DRF's global ``anon``/``user`` rates, each write operation
names a ``throttle_scope`` whose rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``.

The rate is read from settings on every request (DRF's own throttles freeze the rates at
import), so a deployment or a test that changes the setting takes effect, and a settings
module that leaves a scope out falls back to SCOPE_RATES instead of failing with
ImproperlyConfigured on the first request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle

LOGIN = "login"
ITEMS_WRITE = "items-write"
ITEMS_BULK = "items-bulk"
LABELS_WRITE = "labels-write"

# Defaults when settings name no rate for a scope. A bulk call carries up to 1,000 items,
# so 60 a minute is 60,000 items a minute per user; labels are cheap and come in bursts from
# scripts; password guessing is kept slow.
SCOPE_RATES = {
    LOGIN: "10/min",
    ITEMS_WRITE: "600/min",
    ITEMS_BULK: "60/min",
    LABELS_WRITE: "1200/min",
}


def scope_rate(scope: str) -> str | None:
    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    return rates.get(scope, SCOPE_RATES.get(scope))


class ScopedThrottle(ScopedRateThrottle):
    """Per user (or per address when anonymous) and per ``view.throttle_scope``; views
    without a scope are not limited by it."""

    def get_rate(self) -> str | None:
        return scope_rate(self.scope)


class LoginRateThrottle(AnonRateThrottle):
    """Password guessing is limited per client address, logged in or not."""

    scope = LOGIN

    def get_rate(self) -> str | None:
        return scope_rate(self.scope)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
