"""The learning loop on real services: PostgreSQL, the Redis broker and a Celery worker process.

The worker registers the fake encoders at start-up (``worker_env`` in conftest.py), so no
encoder weights are loaded; its settings come from the environment like any deployment's. The
test process checks the worker's work through database rows only.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from labeling.models import Embedding, ModelVersion, Prediction, QueueEntry, TrainingRun
from labeling.services.learning.training import (
    training_periodic,
    training_request,
    training_runs_reap,
)
from labeling.services.review import labels as label_svc
from labeling.tasks import embed_items_task, periodic_training_task
from tests.conftest import SMALL_TREE
from tests.factories import ItemFactory, TaxonomyVersionFactory, make_tree
from tests.labeling.services.loop_data import clustered_items, leaves_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _shop():
    version = TaxonomyVersionFactory(taxonomy__name="Shop")
    make_tree(version, SMALL_TREE)
    return version


def _label_all(truth, *, audit_every=4):
    for i, (item, leaf) in enumerate(truth.items()):
        label_svc.label_create(
            item=item, category=leaf, author=None, source="review", is_audit=i % audit_every == 0
        )


def _finished(run_id):
    return TrainingRun.objects.get(pk=run_id).status in ("succeeded", "failed")


def _active(version):
    return ModelVersion.objects.filter(taxonomy_version=version, status="active").first()


def test_the_full_loop(worker_env, celery_worker_process, wait_for):
    version = _shop()
    leaves = leaves_of(version)
    truth = {ItemFactory(title=f"{leaf.name} item {i}"): leaf for leaf in leaves for i in range(8)}
    # import → embed
    embed_items_task.delay()
    assert wait_for(lambda: Embedding.objects.count() == 48, 60), "items were not embedded"
    # no labels yet: beat builds the cold-start model, which scores items and fills the queue
    periodic_training_task.delay()
    assert wait_for(lambda: Prediction.objects.count() == 48, 90), "cold start did not rescore"
    cold = _active(version)
    assert cold.config["kind"] == "cold_start"
    assert wait_for(lambda: QueueEntry.objects.exists(), 30)
    cold_queue = set(QueueEntry.objects.values_list("item_id", flat=True))
    # labels → train → promote → rescore → the queue changes
    labelled = dict(list(truth.items())[::2])
    _label_all(labelled)
    run = training_request(version, trigger="labels")
    assert wait_for(lambda: _finished(run.pk), 120), "training did not finish"
    run.refresh_from_db()
    assert (run.status, run.outcome.startswith("promoted:")) == ("succeeded", True), run.outcome
    trained = run.model_version
    assert wait_for(lambda: not Prediction.objects.exclude(model_version=trained).exists(), 60)
    cold.refresh_from_db()
    assert (cold.status, _active(version)) == ("retired", trained)
    assert trained.metrics["n_audit"] == 6 and trained.label_count + trained.metrics["n_eval"] == 24
    # the new model is right about the items nobody labelled
    unlabelled = [item for item in truth if item not in labelled]
    top = dict(Prediction.objects.values_list("item_id", "top_category_id"))
    right = sum(top[item.pk] == truth[item].pk for item in unlabelled)
    assert right >= 0.9 * len(unlabelled)
    assert wait_for(
        lambda: (
            QueueEntry.objects.exists()
            and not QueueEntry.objects.exclude(model_version=trained).exists()
        ),
        30,
    )
    queue = set(QueueEntry.objects.values_list("item_id", flat=True))
    assert queue != cold_queue
    assert not queue & {item.pk for item in labelled}  # labelled items are not asked again


def test_a_worse_candidate_is_rejected(worker_env, celery_worker_process, wait_for):
    version = _shop()
    # 20 per leaf: with 10, 29 held-out labels could not tell a model trained on random labels
    # from the active one with confidence (it failed at the session's start commit too).
    truth = clustered_items(leaves_of(version), 20)
    _label_all(truth)
    first = training_request(version, trigger="manual")
    assert wait_for(lambda: _finished(first.pk), 120)
    active = _active(version)
    assert active is not None and active.training_runs.get() == first
    # reviewers relabel every non-audit item at random: a model trained on that is worse
    rng = np.random.default_rng(1)
    leaves = leaves_of(version)
    for item, leaf in truth.items():
        item.refresh_from_db()
        if not item.current_label.is_audit:
            wrong = [c for c in leaves if c != leaf][rng.integers(len(leaves) - 1)]
            label_svc.label_create(item=item, category=wrong, author=None, source="review")
    second = training_request(version, trigger="manual")
    assert wait_for(lambda: _finished(second.pk), 120)
    second.refresh_from_db()
    assert second.status == "succeeded" and second.outcome.startswith("rejected:"), second.outcome
    assert second.model_version.status == "rejected"
    assert _active(version) == active
    assert not Prediction.objects.filter(model_version=second.model_version).exists()


def test_a_killed_worker_leaves_the_active_model_intact(
    slow_worker_env, celery_worker_process, wait_for
):
    version = _shop()
    _label_all(clustered_items(leaves_of(version), 10))
    active = ModelVersion.objects.create(
        taxonomy_version=version, status="active", promoted_at=timezone.now()
    )
    run = training_request(version, trigger="manual")
    training = lambda: TrainingRun.objects.filter(pk=run.pk, stage="training", progress__gt=0.12)  # noqa: E731
    assert wait_for(lambda: training().exists(), 60), "the worker never started training"
    celery_worker_process.send_signal(signal.SIGKILL)
    celery_worker_process.wait(timeout=10)
    run.refresh_from_db()
    assert run.status == "running"  # nobody is left to finish it ...
    assert _active(version) == active  # ... and nothing reviewers see has changed
    # ... until the reaper notices the silent heartbeat
    stale = int(os.environ.get("TAXOLOOP_STALE_RUN_SECONDS", 900))
    assert training_runs_reap(now=timezone.now() + timedelta(seconds=stale + 1)) == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("no heartbeat since")
    assert run.model_version.status == "rejected"
    assert _active(version) == active
    assert training_request(version, trigger="manual") is not None  # the lock is free again


def test_concurrent_triggers_train_once(slow_worker_env, celery_worker_process, wait_for):
    version = _shop()
    _label_all(clustered_items(leaves_of(version), 5))
    barrier = threading.Barrier(6)
    results: list[object] = []

    def trigger(kind):
        barrier.wait()
        try:
            results.append(training_request(version, trigger=kind))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger, args=(f"t{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [r for r in results if r is not None]
    assert len(results) == 6 and len(runs) == 1
    # beat and the label counter fire while it trains: coalesced as well
    assert wait_for(lambda: TrainingRun.objects.filter(status="running").exists(), 60)
    assert training_periodic(version) is None
    assert training_request(version, trigger="labels") is None
    assert wait_for(lambda: _finished(runs[0].pk), 120)
    assert TrainingRun.objects.count() == 1
    assert ModelVersion.objects.filter(status="active").count() == 1
