"""GET /health/: can this deployment serve pages and keep learning? For load balancers and
monitoring.

Anyone may ask (a load balancer has no login) and gets one word per component; staff also get
the details (timings, worker names, late periodic tasks, error texts), which would tell an
outsider more about the deployment than they need. ``?components=database,broker`` runs only
those checks: a load balancer should not take every web process out of rotation because a
Celery worker stopped (see docs/deployment.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_celery_beat.models import PeriodicTask

from taxoloop.celery import app as celery_app

OK, DOWN, UNKNOWN = "ok", "down", "unknown"
BROKER_TIMEOUT_SECONDS = 1.0
PING_TIMEOUT_SECONDS = 1.0
# django-celery-beat writes last_run_at to the database only every few minutes (Celery's
# sync_every, 3 minutes), so a task is late only when it is this far past its interval.
BEAT_GRACE = timedelta(minutes=5)
# On these transports a ping may never reach a worker, so silence proves nothing there.
NO_BROADCAST_SCHEMES = ("filesystem", "memory")
HEALTH_UNKNOWN_COMPONENT = "Unknown component(s): {names}; expected some of {choices}."


@dataclass(frozen=True)
class Check:
    status: str
    detail: dict[str, Any] = field(default_factory=dict)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _error(error: BaseException) -> dict[str, Any]:
    return {"error": f"{type(error).__name__}: {error}"}


def check_database() -> Check:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means the same thing here: no database
        return Check(DOWN, _error(error))
    return Check(OK, {"ms": _elapsed_ms(started), "vendor": connection.vendor})


def _broker_scheme() -> str:
    return str(celery_app.conf.broker_url or "").split("://", 1)[0]


def check_broker() -> Check:
    started = time.perf_counter()
    detail: dict[str, Any] = {"transport": _broker_scheme()}
    try:
        with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
    except Exception as error:  # refused, timed out, bad credentials: all "down"
        return Check(DOWN, {**detail, **_error(error)})
    return Check(OK, {**detail, "ms": _elapsed_ms(started)})


def check_workers() -> Check:
    """A control ping; no answer is "down" on Redis but "unknown" where pings may not travel."""
    try:
        replies = celery_app.control.ping(timeout=PING_TIMEOUT_SECONDS)
    except Exception as error:
        return Check(UNKNOWN, _error(error))
    names = sorted(name for reply in replies for name in reply)
    if names:
        return Check(OK, {"count": len(names), "names": names})
    silent = UNKNOWN if _broker_scheme() in NO_BROADCAST_SCHEMES else DOWN
    return Check(silent, {"count": 0})


def _interval(task: PeriodicTask) -> timedelta:
    return timedelta(**{task.interval.period: task.interval.every})


def _late(task: PeriodicTask, now: datetime) -> bool:
    last = task.last_run_at or task.date_changed
    return now - last > _interval(task) + BEAT_GRACE


def check_beat() -> Check:
    """Every enabled interval task must have run within its interval plus BEAT_GRACE."""
    try:
        tasks = list(
            PeriodicTask.objects.filter(enabled=True, one_off=False, interval__isnull=False)
            .select_related("interval")
            .exclude(start_time__gt=timezone.now())
        )
    except Exception as error:  # no database: beat's state cannot be read
        return Check(UNKNOWN, _error(error))
    if not tasks:
        return Check(DOWN, {"error": "no periodic tasks in the database: beat has never run"})
    now = timezone.now()
    late = sorted(task.name for task in tasks if _late(task, now))
    detail = {"tasks": len(tasks), "late": late}
    return Check(DOWN if late else OK, detail)


CHECKS: dict[str, Callable[[], Check]] = {
    "database": check_database,
    "broker": check_broker,
    "workers": check_workers,
    "beat": check_beat,
}


def _broker_down(results: dict[str, Check]) -> bool:
    """Asked before a ping: with the broker down a ping would wait on reconnecting to it."""
    broker = results.get("broker") or CHECKS["broker"]()
    return broker.status == DOWN


def _run_checks(names: list[str]) -> dict[str, Check]:
    results: dict[str, Check] = {}
    for name in names:
        if name == "workers" and _broker_down(results):
            results[name] = Check(UNKNOWN, {"error": "the broker is down"})
        else:
            results[name] = CHECKS[name]()
    return results


def _requested(request: HttpRequest) -> list[str] | None:
    """The components asked for (all by default), or None when a name is unknown."""
    raw = request.GET.get("components", "")
    names = {name.strip() for name in raw.split(",") if name.strip()} or set(CHECKS)
    return [name for name in CHECKS if name in names] if names <= set(CHECKS) else None


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    names = _requested(request)
    if names is None:
        message = HEALTH_UNKNOWN_COMPONENT.format(
            names=request.GET["components"], choices=", ".join(CHECKS)
        )
        return JsonResponse({"error": message}, status=400)
    results = _run_checks(names)
    healthy = all(check.status != DOWN for check in results.values())
    body: dict[str, Any] = {
        "status": OK if healthy else DOWN,
        "components": {name: check.status for name, check in results.items()},
    }
    if request.user.is_authenticated and request.user.is_staff:
        body["details"] = {name: check.detail for name, check in results.items()}
    return JsonResponse(body, status=200 if healthy else 503)
