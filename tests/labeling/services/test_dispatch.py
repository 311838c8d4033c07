"""dispatch sends tasks by name: the services never import labeling.tasks, yet a process that
has not loaded the tasks (a web process) finds them, in any thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.exceptions import NotRegistered

from labeling.services import dispatch

ROOT = Path(__file__).resolve().parents[3]

# A fresh interpreter, as gunicorn starts one: Django set up, nothing has imported the tasks.
PROBE = """
import sys, threading
import django
django.setup()
from labeling.services import dispatch
assert "labeling.tasks" not in sys.modules, "the tasks were imported before any send"
found = {}
def look_up():
    found["task"] = dispatch.registered_task("embed_items_task")
thread = threading.Thread(target=look_up)  # a request thread, not the one that built the app
thread.start()
thread.join()
print(found["task"].name, found["task"].app.main, "labeling.tasks" in sys.modules)
"""


def test_a_process_that_never_imported_the_tasks_finds_them_by_name_in_any_thread():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taxoloop.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["labeling.tasks.embed_items_task", "taxoloop", "True"]


def test_a_name_that_is_not_a_task_is_refused():
    with pytest.raises(NotRegistered):
        dispatch.registered_task("no_such_task")
