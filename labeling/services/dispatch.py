"""Sending Celery tasks from services: by registered name, after commit, never failing the caller.

Services name the task (``"train_model_task"``) instead of importing ``labeling.tasks``:
the tasks import the services, so an import the other way would close a circle. The name
is looked up in the Celery app's registry when the task is sent; a process that has not
loaded the tasks yet (a web process: only workers autodiscover them at start) has Celery
import them, once, as a worker does.

A label must be saved even when the broker is down: the enqueue error is logged and the
periodic task (Celery beat) picks the work up once the broker is back.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)
TASKS_MODULE = "labeling.tasks"


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Send ``labeling.tasks.<task_name>(*args)`` once the current transaction commits."""
    transaction.on_commit(lambda: enqueue_now(task_name, *args))


def enqueue_now(task_name: str, *args: Any, countdown: float | None = None) -> bool:
    """Send a task now, to run ``countdown`` seconds later (None: at once); False (and a
    logged error) when the broker refused it. Eager Celery (tests) ignores the countdown.

    A name that is not a task is a programming error and raises ``NotRegistered``.
    """
    task = registered_task(task_name)
    try:
        # retry=False: with the broker down, fail at once rather than stall the request.
        task.apply_async(args=args, countdown=countdown, retry=False)
    except Exception:  # kombu/redis raise many types; a web request must not fail on any
        log.exception("could not enqueue %s%s; the periodic task will pick it up", task_name, args)
        return False
    return True


def registered_task(task_name: str) -> Any:
    """The Celery task ``labeling.tasks.<task_name>`` from the app's registry.

    Celery autodiscovers the tasks modules when a worker starts; in any other process the
    first lookup runs the same discovery (``import_default_modules``). A name that is not
    a task then raises ``celery.exceptions.NotRegistered``.
    """
    name = f"{TASKS_MODULE}.{task_name}"
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]
