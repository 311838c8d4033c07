"""The Celery app, configured from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxoloop.settings.dev")

app = Celery("taxoloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The app of every thread: Celery's "current app" is per thread, and a web server's request
# threads would otherwise get Celery's unconfigured fallback app (no broker settings, no tasks).
app.set_default()

# Every periodic schedule lives here. django-celery-beat copies them into the database on
# start, where admins can change or pause them (Admin → Periodic tasks).
# Read from the Django settings (TAXOLOOP_TRAIN_EVERY_MINUTES); only the initial value: once
# beat has copied it into the database, the admin is where it is changed.
_TRAIN_EVERY_MINUTES = settings.TAXOLOOP["TRAIN_EVERY_MINUTES"]

app.conf.beat_schedule = {
    # Every minute: hand leases that reviewers abandoned back to the pool, and send again the
    # queue refresh of each taxonomy version whose queue has waited for one over 5 minutes
    # (its message was lost: broker down, worker gone).
    "release-expired-leases": {
        "task": "labeling.tasks.release_expired_leases_task",
        "schedule": 60.0,
    },
    # Every TRAIN_EVERY_MINUTES (default 10): train each current taxonomy version that has
    # labels its last training has not seen (or no active model yet: then the cold start).
    "train-models": {
        "task": "labeling.tasks.periodic_training_task",
        "schedule": _TRAIN_EVERY_MINUTES * 60.0,
    },
    # Every minute: train each current taxonomy version whose oldest label not yet seen by a
    # training has waited TAXOLOOP_TRAIN_MAX_LABEL_WAIT_SECONDS (default 120; 0 turns it off), so
    # a lone label reaches a model within that wait + 1 minute + one training. Re-sends queued
    # runs whose message was lost (broker down) as well.
    "train-waiting-labels": {
        "task": "labeling.tasks.train_waiting_labels_task",
        "schedule": 60.0,
    },
    # Every TRAIN_EVERY_MINUTES: encode items that have no embedding yet (new items are sent
    # at once; this catches up on what was missed while the broker was down) and score them.
    "embed-pending-items": {
        "task": "labeling.tasks.embed_items_task",
        "schedule": _TRAIN_EVERY_MINUTES * 60.0,
    },
    # Every minute: mark training runs whose worker stopped sending heartbeats as failed, and
    # send again rescore shards silent for TAXOLOOP_STALE_SHARD_SECONDS (worker gone).
    "reap-stale-training-runs": {
        "task": "labeling.tasks.reap_stale_runs_task",
        "schedule": 60.0,
    },
    # Every hour: estimate each reviewer's reliability (Dawid-Skene over the top-level
    # branches) from the working taxonomy version's overlap and adjudicated answers; it weighs
    # their labels in training and decides who gets second opinions. Runs refresh it too.
    "refresh-reviewer-reliability": {
        "task": "labeling.tasks.reliability_refresh_task",
        "schedule": 3600.0,
    },
}
