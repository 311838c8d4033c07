"""The bounded wait: beat trains once the oldest label no finished training saw is old enough.

Timestamps are set by hand relative to the real clock: labels are saved with the clock moved
back (the ledger is append-only, so ``created_at`` cannot be updated afterwards).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from labeling import tasks
from labeling.models import Label, TrainingRun
from labeling.services.learning.triggers import training_for_waiting_labels
from labeling.services.review import labels as label_svc
from taxoloop.celery import app
from tests.factories import ItemFactory, TaxonomyVersionFactory

pytestmark = pytest.mark.django_db

WAIT = 120


@pytest.fixture(autouse=True)
def loop_settings(settings):
    settings.TAXOLOOP = {
        **settings.TAXOLOOP,
        "TRAIN_MAX_LABEL_WAIT_SECONDS": WAIT,
        "TRAIN_EVERY_MINUTES": 10,
        "TRAIN_EVERY_N_LABELS": 50,
    }


def _ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def _label(tree, *, saved_seconds_ago: float) -> Label:
    item = ItemFactory()
    with time_machine.travel(_ago(saved_seconds_ago), tick=False):
        return label_svc.label_create(
            item=item, category=tree["Accessories > Watches"], author=None, source="review"
        )


def _finished_run(version, status: str, *, started_seconds_ago: float) -> TrainingRun:
    return TrainingRun.objects.create(
        taxonomy_version=version,
        status=status,
        trigger="manual",
        started_at=_ago(started_seconds_ago),
        finished_at=_ago(started_seconds_ago - 5),
    )


def test_a_label_older_than_the_wait_requests_a_training_sent_after_commit(
    tree, version, sent, django_capture_on_commit_callbacks
):
    _label(tree, saved_seconds_ago=WAIT + 1)
    with django_capture_on_commit_callbacks(execute=True):
        run = training_for_waiting_labels(version)
    assert (run.status, run.trigger, run.taxonomy_version) == ("queued", "label-wait", version)
    assert sent == [("train_model_task", (run.pk,))]


def test_a_label_younger_than_the_wait_is_not_due_yet(tree, version, sent):
    _label(tree, saved_seconds_ago=WAIT - 10)
    assert training_for_waiting_labels(version) is None
    assert not TrainingRun.objects.exists()


def test_the_oldest_unseen_label_decides_not_the_newest(tree, version, sent):
    _label(tree, saved_seconds_ago=WAIT + 30)
    _label(tree, saved_seconds_ago=1)
    assert training_for_waiting_labels(version).trigger == "label-wait"


def test_a_wait_of_zero_turns_the_trigger_off(tree, version, sent, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TRAIN_MAX_LABEL_WAIT_SECONDS": 0}
    _label(tree, saved_seconds_ago=3600)
    assert training_for_waiting_labels(version) is None
    assert not TrainingRun.objects.exists()


def test_no_labels_request_nothing(version, sent):
    assert training_for_waiting_labels(version) is None


def test_a_request_while_one_is_in_flight_is_coalesced(tree, version, sent):
    _label(tree, saved_seconds_ago=WAIT + 1)
    first = training_for_waiting_labels(version)
    assert training_for_waiting_labels(version) is None
    TrainingRun.objects.filter(pk=first.pk).update(status="running", started_at=timezone.now())
    assert training_for_waiting_labels(version) is None
    assert list(TrainingRun.objects.values_list("pk", flat=True)) == [first.pk]


def test_labels_saved_before_the_last_finished_training_started_are_seen(tree, version, sent):
    _label(tree, saved_seconds_ago=WAIT + 60)
    _finished_run(version, "succeeded", started_seconds_ago=WAIT + 30)
    assert training_for_waiting_labels(version) is None
    _label(tree, saved_seconds_ago=WAIT + 10)  # after that run started: not seen
    assert training_for_waiting_labels(version) is not None


def test_it_backs_off_for_train_every_minutes_after_a_failed_run(tree, version, sent):
    _label(tree, saved_seconds_ago=3600)
    failed = _finished_run(version, "failed", started_seconds_ago=65)
    assert training_for_waiting_labels(version) is None
    TrainingRun.objects.filter(pk=failed.pk).update(finished_at=_ago(10 * 60 + 1))
    assert training_for_waiting_labels(version).trigger == "label-wait"


def test_a_failed_run_does_not_count_as_having_seen_the_labels(tree, version, sent):
    _label(tree, saved_seconds_ago=3600)
    _finished_run(version, "failed", started_seconds_ago=20 * 60)
    assert training_for_waiting_labels(version) is not None


def test_a_run_left_queued_is_sent_again_and_nothing_new_is_queued(tree, version, sent):
    _label(tree, saved_seconds_ago=3600)
    lost = TrainingRun.objects.create(taxonomy_version=version, trigger="labels")
    assert training_for_waiting_labels(version) is None
    assert sent == []  # just requested: its message may still be on its way
    TrainingRun.objects.filter(pk=lost.pk).update(created_at=_ago(61))
    assert training_for_waiting_labels(version) is None
    assert sent == [("train_model_task", (lost.pk,))]
    assert TrainingRun.objects.count() == 1


def test_the_task_checks_every_current_version(tree, version, sent):
    other = TaxonomyVersionFactory(is_current=False)
    _label(tree, saved_seconds_ago=WAIT + 1)
    runs = tasks.train_waiting_labels_task.delay().get()
    assert runs == [TrainingRun.objects.get(taxonomy_version=version).pk]
    assert not TrainingRun.objects.filter(taxonomy_version=other).exists()
    assert tasks.train_waiting_labels_task.delay().get() == []  # coalesced


def test_beat_runs_the_bounded_wait_every_minute():
    entry = app.conf.beat_schedule["train-waiting-labels"]
    assert entry == {"task": "labeling.tasks.train_waiting_labels_task", "schedule": 60.0}
    assert entry["task"] in app.tasks
