"""Failures for real: the broker goes away under a working app, a worker dies mid-rescore.

Each test runs its own ``redis-server`` on a free port (stopped and started again on that same
port), so a stopped broker or a killed worker's unacknowledged message never reaches the
shared Redis that other tests use.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labeling.models import Item, Label, ModelVersion, Prediction, QueueEntry, TrainingRun
from labeling.services.learning.training import training_request
from labeling.services.review import labels as label_svc
from labeling.tasks import rescore_task, train_waiting_labels_task
from tests.conftest import SMALL_TREE
from tests.factories import TaxonomyVersionFactory, make_tree
from tests.labeling.services.loop_data import clustered_items, leaves_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A web request while the broker is down: the label is saved and the request answers at once
# (kombu's own retries would hold it ~6 s per publish without the settings' transport options).
FAST_REQUEST_SECONDS = 2.0


def _shop():
    version = TaxonomyVersionFactory(taxonomy__name="Shop")
    make_tree(version, SMALL_TREE)
    return version


def _label(truth, *, source="review"):
    for item, leaf in truth.items():
        label_svc.label_create(item=item, category=leaf, author=None, source=source)


def _active(version):
    return ModelVersion.objects.filter(taxonomy_version=version, status="active").first()


def _train_and_rescore(version, n_items, wait_for) -> ModelVersion:
    """Request a training and wait for its promoted model to score every item."""
    run = training_request(version, trigger="manual")
    assert wait_for(lambda: TrainingRun.objects.get(pk=run.pk).status == "succeeded", 120)
    model = TrainingRun.objects.get(pk=run.pk).model_version
    assert _active(version) == model, TrainingRun.objects.get(pk=run.pk).outcome
    scored = Prediction.objects.filter(model_version=model)
    assert wait_for(lambda: scored.count() == n_items and QueueEntry.objects.exists(), 60)
    return model


def _timed(send: Callable[[], HttpResponse]) -> tuple[HttpResponse, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def _review(client: Client, truth) -> tuple[HttpResponse, float]:
    """Take the next queue item on the review page and give its true leaf."""
    task = client.get(reverse("review:queue")).context["task"]
    data = {"shown": task.token, "category": truth[task.entry.item].pk}
    return _timed(lambda: client.post(reverse("review:decide"), data))


def _work_during_the_outage(alice, bob, truth) -> list[tuple[HttpResponse, float]]:
    """Two items created through the API (each sends an embedding task), five review
    decisions and one label through the API (the sixth label requests a training)."""
    as_alice, as_bob = Client(), Client()
    as_alice.force_login(alice)
    as_bob.force_login(bob)
    done = [
        _timed(lambda n=n: as_bob.post("/api/items/", {"external_id": f"NEW-{n}", "title": "Hat"}))
        for n in range(2)
    ]
    done += [_review(as_alice, truth) for _ in range(5)]
    item = next(i for i in truth if not Label.objects.filter(item=i).exists())
    label = {"item": item.pk, "category": truth[item].pk}
    return [*done, _timed(lambda: as_alice.post("/api/labels/", label))]


def test_the_app_keeps_saving_while_the_broker_is_down_and_training_catches_up_after(
    worker_env, private_redis, workers, alice, bob, settings, wait_for
):
    version = _shop()
    truth = clustered_items(leaves_of(version), 8)
    _label(dict(list(truth.items())[::2]))
    # What is tested is that the work catches up, not whether six more labels make a better
    # model: with the default margin a surely worse candidate is (rightly) rejected.
    worker_env.setenv("TAXOLOOP_PROMOTION_MARGIN", "1")
    workers()
    before = _train_and_rescore(version, len(truth), wait_for)
    # From here on the label counter requests a training after every 6 ledger rows.
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TRAIN_EVERY_N_LABELS": 6}
    private_redis.stop()
    answers = _work_during_the_outage(alice, bob, truth)
    assert [r.status_code for r, _ in answers] == [201, 201] + [302] * 5 + [201]
    assert max(seconds for _, seconds in answers) < FAST_REQUEST_SECONDS, answers
    assert Item.objects.filter(external_id__startswith="NEW-").count() == 2
    saved = Label.objects.filter(author=alice)
    assert saved.count() == 6 and all(label.category == truth[label.item] for label in saved)
    # The sixth label requested a training; its message never reached a broker.
    run = TrainingRun.objects.get(status="queued")
    assert (run.trigger, _active(version)) == ("labels", before)

    private_redis.start()  # empty: whatever was queued before the outage is gone too
    # A minute passes (set by hand); beat's every-minute task then re-sends the lost run.
    TrainingRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    assert wait_for(lambda: _sent(train_waiting_labels_task), 30), "the broker never came back"
    assert wait_for(lambda: TrainingRun.objects.get(pk=run.pk).status == "succeeded", 120)
    after = _active(version)
    assert after == TrainingRun.objects.get(pk=run.pk).model_version and after != before
    assert after.newest_label_at >= max(label.created_at for label in saved)
    assert wait_for(lambda: not Prediction.objects.exclude(model_version=after).exists(), 60)


def _sent(task) -> bool:
    """Send ``task`` as beat would; False while the broker still refuses."""
    try:
        task.apply_async(retry=False)
    except Exception:
        return False
    return True


def _snapshot(model: ModelVersion) -> dict[int, tuple[int, float, list]]:
    rows = Prediction.objects.filter(model_version=model)
    return {p.item_id: (p.top_category_id, p.confidence, p.candidates) for p in rows}


def test_a_worker_killed_mid_rescore_leaves_the_active_model_and_predictions_whole(
    worker_env, workers, wait_for
):
    worker_env.setenv("TAXOLOOP_RESCORE_CHUNK_SIZE", "4")
    worker_env.setenv("TAXOLOOP_RESCORE_CHUNK_DELAY", "0.4")  # 12 chunks: ~5 s a rescore
    worker_env.setenv("TAXOLOOP_PROMOTION_MARGIN", "1")  # the second model is promoted
    version = _shop()
    truth = clustered_items(leaves_of(version), 8)
    _label(dict(list(truth.items())[::2]))
    worker = workers()
    first = _train_and_rescore(version, len(truth), wait_for)
    old = _snapshot(first)
    queue = set(QueueEntry.objects.values_list("item_id", "model_version_id"))

    _label(dict(list(truth.items())[1::4]))  # a quarter stays unlabelled: the next queue
    run = training_request(version, trigger="manual")
    rescoring = Prediction.objects.filter(model_version__training_runs=run)
    assert wait_for(lambda: rescoring.count() >= 8, 120), "the second rescore never started"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    second = TrainingRun.objects.get(pk=run.pk).model_version
    done = rescoring.count()
    assert 8 <= done < len(truth)  # killed half-way through
    # The promotion had committed: the new model is active, the old one retired.
    assert (_active(version), ModelVersion.objects.get(pk=first.pk).status) == (second, "retired")
    # Every item keeps one whole prediction: the new model's, or exactly the old one's.
    predictions = Prediction.objects.all()
    assert predictions.count() == len(truth)
    assert {p.model_version_id for p in predictions} == {first.pk, second.pk}
    assert all(p.candidates[0]["category"] == p.top_category_id for p in predictions)
    untouched = _snapshot(first)
    assert len(untouched) == len(truth) - done and untouched == {k: old[k] for k in untouched}
    assert set(QueueEntry.objects.values_list("item_id", "model_version_id")) == queue

    time.sleep(1)
    assert rescoring.count() == done  # nobody is writing any more
    workers()
    rescore_task.delay(second.pk)  # on Redis the dead worker's message returns only after
    # the visibility timeout (1 h), so it is sent again, as `manage.py rescore` would
    assert wait_for(lambda: rescoring.count() == len(truth), 60)
    assert wait_for(
        lambda: (
            not QueueEntry.objects.exclude(model_version=second).exists()
            and QueueEntry.objects.exists()
        ),
        30,
    )
