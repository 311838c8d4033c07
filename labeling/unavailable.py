"""Answer 503 when the database is unreachable and 507 when media storage is full, instead of
a 500 error page.

Both are conditions of the server, not mistakes in the request, and both pass: PostgreSQL
restarts, someone frees disk space. A client (a browser, a script, a load balancer) should
learn that and retry, so the answer says what happened and carries ``Retry-After``. The
exception is still logged with its traceback, so operators see what a 500 would have shown.

Only exceptions raised by views reach ``process_exception``; after a restart, stale persistent
connections are tested before use (``CONN_HEALTH_CHECKS`` in the settings), so the first
request after PostgreSQL is back succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from labeling.services.catalog.media_files import (
    MediaDiskFull,
    is_disk_full,
    media_disk_full_message,
)

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (
    "The database is unavailable (restarting or unreachable); nothing was saved by this "
    "request. Please retry in a minute."
)
DATABASE_RETRY_AFTER_SECONDS = 30
MEDIA_RETRY_AFTER_SECONDS = 300
HTTP_INSUFFICIENT_STORAGE = 507


class ServiceUnavailableMiddleware:
    """Turns a lost database into 503 and a full media disk into 507 (JSON for the API and
    for clients asking for JSON, a short page otherwise)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            log.error("database unavailable for %s", request.path, exc_info=exception)
            return _answer(request, 503, DATABASE_UNAVAILABLE, DATABASE_RETRY_AFTER_SECONDS)
        if isinstance(exception, MediaDiskFull) or is_disk_full(exception):
            # A raw OSError comes from writers that do not use media_files (the admin's upload).
            log.error("media storage full for %s", request.path, exc_info=exception)
            message = str(exception) if isinstance(exception, MediaDiskFull) else None
            return _answer(
                request,
                HTTP_INSUFFICIENT_STORAGE,
                message or media_disk_full_message(),
                MEDIA_RETRY_AFTER_SECONDS,
            )
        return None


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or "application/json" in accept


def _answer(request: HttpRequest, status: int, message: str, retry_after: int) -> HttpResponse:
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"detail": message}, status=status)
    else:
        title = "Service unavailable" if status == 503 else "Storage full"
        page = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{escape(message)}</p>"
        response = HttpResponse(page, status=status, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
