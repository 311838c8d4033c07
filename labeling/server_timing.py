"""``Server-Timing`` on every response: the time the application spent, measured in the server.

    Server-Timing: app;dur=12.3, db;dur=4.1;desc="17 queries"

``app`` runs from the request entering this middleware to the response leaving it, so it
leaves out the time a request waits for a free worker and the time on the wire: it is the
figure the review queue's performance target ("server time p95 under 50 ms") is about, and
``benchmarks/bench_review.py`` reads it from here. ``db`` is the part spent in database
queries on the default connection. Browsers show both in their developer tools.

Put it first in ``MIDDLEWARE`` so that the session and authentication middleware are timed
too. The header tells a visitor no more than a stopwatch on their side would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse


class _QueryClock:
    """An ``execute_wrapper`` that adds up the time and the number of queries."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0

    def __call__(self, execute: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(*args)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


class ServerTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        clock = _QueryClock()
        start = time.perf_counter()
        with connection.execute_wrapper(clock):
            response = self.get_response(request)
        app_ms = (time.perf_counter() - start) * 1000
        response["Server-Timing"] = (
            f'app;dur={app_ms:.1f}, db;dur={clock.seconds * 1000:.1f};desc="{clock.count} queries"'
        )
        return response
