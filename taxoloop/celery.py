"""The Celery app, configured from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxoloop.settings.dev")

app = Celery("taxoloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic schedule lives here. django-celery-beat copies them into the database on
# start, where admins can change or pause them (Admin → Periodic tasks).
app.conf.beat_schedule = {
    # Every minute: hand leases that reviewers abandoned back to the pool.
    "release-expired-leases": {
        "task": "labeling.tasks.release_expired_leases_task",
        "schedule": 60.0,
    },
}
