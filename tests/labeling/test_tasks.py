"""labeling.tasks: thin, idempotent tasks, and the beat schedule that drives the loop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling import tasks
from labeling.models import ModelVersion, TrainingRun
from labeling.services.learning import scoring, training
from labeling.services.review import labels as label_svc
from labeling.services.review import queue_build
from taxoloop.celery import app
from tests.factories import ItemFactory, TaxonomyVersionFactory
from tests.labeling.services.loop_data import (
    clustered_items,
    leaves_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]


@pytest.fixture
def fake_scoring(monkeypatch):
    """Stand-ins for scoring.rescore and queue_build.rebuild_queue that record their calls."""
    calls: list[tuple[str, int]] = []
    # rescore_jobs calls both through their modules, so they are replaced there.
    monkeypatch.setattr(
        scoring, "rescore", lambda model, **kw: calls.append(("rescore", model.pk)) or 7
    )
    monkeypatch.setattr(
        queue_build,
        "rebuild_queue",
        lambda version, **kw: calls.append(("queue", version.pk)) or {},
    )
    return calls


def test_train_model_task_runs_a_queued_run_once(tree, version, fake_scoring):
    for item, leaf in clustered_items(leaves_of(version), 3).items():
        label_svc.label_create(item=item, category=leaf, author=None, source="review")
    run = training.training_request(version, trigger="manual", enqueue=False)
    assert tasks.train_model_task.delay(run.pk).get() == "succeeded"
    assert tasks.train_model_task.delay(run.pk).get() == "succeeded"  # a redelivery: no-op
    assert ModelVersion.objects.get().status == "active"


def test_train_model_task_for_a_missing_run_does_nothing(db):
    assert tasks.train_model_task.delay(999999).get() == "missing"


def test_the_tasks_ack_late():
    for task in (
        tasks.train_model_task,
        tasks.rescore_task,
        tasks.embed_items_task,
        tasks.reap_stale_runs_task,
        tasks.periodic_training_task,
    ):
        assert task.acks_late is True


def test_rescore_task_scores_then_rebuilds_the_queue(version, fake_scoring):
    model = ModelVersion.objects.create(taxonomy_version=version, status="active")
    assert tasks.rescore_task.delay(model.pk).get() == 7
    assert fake_scoring == [("rescore", model.pk), ("queue", version.pk)]


def test_rescore_task_skips_a_model_that_is_no_longer_active(version, fake_scoring):
    retired = ModelVersion.objects.create(taxonomy_version=version, status="retired")
    assert tasks.rescore_task.delay(retired.pk).get() == 0
    assert tasks.rescore_task.delay(999999).get() == 0
    assert fake_scoring == []


def test_reap_stale_runs_task_fails_stale_runs(version):
    old = timezone.now() - timedelta(hours=2)
    run = TrainingRun.objects.create(
        taxonomy_version=version, status="running", started_at=old, heartbeat_at=old
    )
    assert tasks.reap_stale_runs_task.delay().get() == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("no heartbeat since")


def test_periodic_training_task_requests_a_run_per_current_version(version):
    TaxonomyVersionFactory(is_current=False)
    runs = tasks.periodic_training_task.delay().get()
    assert runs == [TrainingRun.objects.get(taxonomy_version=version).pk]
    assert tasks.periodic_training_task.delay().get() == []  # coalesced


def test_embed_items_task_reports_counts(db):
    ItemFactory.create_batch(2)
    assert tasks.embed_items_task.delay().get() == {"encoded": 2, "failed": 0}


def test_beat_trains_every_configured_minutes_and_reaps_every_minute(settings):
    schedule = app.conf.beat_schedule
    assert schedule["train-models"] == {
        "task": "labeling.tasks.periodic_training_task",
        "schedule": settings.TAXOLOOP["TRAIN_EVERY_MINUTES"] * 60.0,
    }
    assert schedule["reap-stale-training-runs"]["task"] == "labeling.tasks.reap_stale_runs_task"
    assert schedule["reap-stale-training-runs"]["schedule"] == 60.0
    assert set(app.tasks) >= {s["task"] for s in schedule.values()}


@pytest.fixture
def sent(monkeypatch):
    """Tasks sent through labeling.services.dispatch, recorded instead of sent."""
    from labeling.services import dispatch

    calls: list[tuple] = []
    monkeypatch.setattr(
        dispatch, "enqueue_now", lambda name, *args: calls.append((name, *args)) or True
    )
    return calls


def test_a_new_or_changed_item_is_sent_to_embedding_after_commit(
    sent, django_capture_on_commit_callbacks
):
    from labeling.services.catalog import items as item_svc

    with django_capture_on_commit_callbacks(execute=True):
        item = item_svc.item_create(external_id="sku-1", title="Blue linen shirt")
        assert sent == []  # only once the row is committed
    with django_capture_on_commit_callbacks(execute=True):
        item_svc.item_update(item=item, title="Blue linen shirt, slim fit")
    with django_capture_on_commit_callbacks(execute=True):
        item_svc.item_update(item=item, source="erp")  # not an encoder input: nothing to do
    with django_capture_on_commit_callbacks(execute=True):
        bulk = item_svc.items_bulk_create(rows=[{"external_id": "sku-2", "title": "Red scarf"}])
    assert sent == [
        ("embed_items_task", [item.pk]),
        ("embed_items_task", [item.pk]),
        ("embed_items_task", [bulk[0].pk]),
    ]


def test_newly_embedded_items_are_scored_by_the_active_model(tree, version, sent):
    active = ModelVersion.objects.create(taxonomy_version=version, status="active")
    item = ItemFactory(title="Blue linen shirt")
    assert tasks.embed_items_task([item.pk]) == {"encoded": 1, "failed": 0}
    assert sent == [("rescore_items_task", active.pk, [item.pk])]
    sent.clear()
    assert tasks.embed_items_task([item.pk]) == {"encoded": 0, "failed": 0}
    assert sent == []  # nothing new, nothing to score


def test_without_an_active_model_new_items_start_the_cold_start(
    tree, version, sent, django_capture_on_commit_callbacks
):
    item = ItemFactory(title="Blue linen shirt")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.embed_items_task([item.pk])
    run = TrainingRun.objects.get(taxonomy_version=version)
    assert run.trigger == "beat" and ("train_model_task", run.pk) in sent


def test_labels_waiting_for_an_embedding_are_trained_on_once_it_exists(
    tree, version, sent, django_capture_on_commit_callbacks
):
    ModelVersion.objects.create(taxonomy_version=version, status="active")
    item = ItemFactory(title="Blue linen shirt")
    label_svc.label_create(item=item, category=leaves_of(version)[0], author=None, source="import")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.embed_items_task([item.pk])
    run = TrainingRun.objects.get(taxonomy_version=version)
    assert ("train_model_task", run.pk) in sent


def _embedded_catalog(version, n):
    """``n`` items encoded by the fake encoders (titles start with a leaf name) and an active
    model trained on them; returns the items."""
    from labeling.services.catalog.embeddings import embed_items
    from tests.labeling.services.scoring_data import fit_and_store

    leaves = leaves_of(version)
    items = [ItemFactory(title=f"{leaves[i % len(leaves)].name} {i}") for i in range(n)]
    embed_items()
    fit_and_store(version, [(item, leaves[i % len(leaves)]) for i, item in enumerate(items)])
    return items


def test_beat_embedding_scores_only_the_items_it_encoded(tree, version):
    from labeling.models import Prediction

    _embedded_catalog(version, 47)
    new = [ItemFactory(title=f"Shirts new {i}") for i in range(3)]
    # Beat sends the task without ids; it encodes the 3 new items and must score those 3,
    # not the 50 of the catalog.
    assert tasks.embed_items_task.delay().get() == {"encoded": 3, "failed": 0}
    assert sorted(Prediction.objects.values_list("item_id", flat=True)) == [i.pk for i in new]


def test_the_scoring_message_names_exactly_the_encoded_items(tree, version, sent):
    _embedded_catalog(version, 47)
    active = ModelVersion.objects.get(status="active")
    new = [ItemFactory(title=f"Shirts new {i}") for i in range(3)]
    tasks.embed_items_task()
    assert sent == [("rescore_items_task", active.pk, [i.pk for i in new])]


def test_the_items_to_score_go_in_messages_of_at_most_a_chunk(tree, version, sent, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RESCORE_CHUNK_SIZE": 2}
    active = ModelVersion.objects.create(taxonomy_version=version, status="active")
    new = [ItemFactory(title=f"Shirts new {i}") for i in range(5)]
    tasks.embed_items_task([i.pk for i in new])
    ids = [i.pk for i in new]
    assert sent == [
        ("rescore_items_task", active.pk, ids[:2]),
        ("rescore_items_task", active.pk, ids[2:4]),
        ("rescore_items_task", active.pk, ids[4:]),
    ]
