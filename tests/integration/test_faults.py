"""Fault drill: a Celery worker is killed (SIGKILL) in the middle of a training.

Real services: the test database on PostgreSQL, a private redis-server (so the dead worker's
unacknowledged message never reaches the shared Redis) and worker processes. The active
model keeps serving while the killed run hangs; beat's reaper then marks the run failed and
rejects its half-made model, and beat's periodic trigger trains the same labels on a fresh
worker, which promotes a model that saw them. The other drills: the broker going away and a
worker killed mid-rescore (test_broker_outage.py), PostgreSQL restarting
(test_faults_postgres.py), a full media disk (test_faults_disk.py); docs/deployment.md,
"Fault drills", lists them all.
"""

from __future__ import annotations

import signal
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labeling.models import Label, ModelVersion, Prediction, TrainingRun
from labeling.services.learning.training import STALE_RUN, training_request
from labeling.services.review import labels as label_svc
from labeling.tasks import periodic_training_task, reap_stale_runs_task
from tests.conftest import SMALL_TREE
from tests.factories import TaxonomyVersionFactory, make_tree
from tests.labeling.services.loop_data import clustered_items, leaves_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The fresh worker's reaper threshold: a run silent this long is stale (900 s in production).
STALE_SECONDS = 2


def _shop():
    version = TaxonomyVersionFactory(taxonomy__name="Shop")
    make_tree(version, SMALL_TREE)
    return version


def _label(truth) -> None:
    for item, leaf in truth.items():
        label_svc.label_create(item=item, category=leaf, author=None, source="review")


def _active(version) -> ModelVersion | None:
    return ModelVersion.objects.filter(taxonomy_version=version, status="active").first()


def _run(pk: int) -> TrainingRun:
    return TrainingRun.objects.select_related("model_version").get(pk=pk)


def _first_model(version, n_items: int, wait_for) -> ModelVersion:
    run = training_request(version, trigger="manual")
    assert run is not None
    assert wait_for(lambda: _run(run.pk).status == "succeeded", 120), _run(run.pk).outcome
    model = _run(run.pk).model_version
    assert _active(version) == model
    assert wait_for(lambda: Prediction.objects.filter(model_version=model).count() == n_items, 60)
    return model


def _predictions() -> dict[int, tuple[int, int]]:
    rows = Prediction.objects.values_list("item_id", "model_version_id", "top_category_id")
    return {item: (model, top) for item, model, top in rows}


def _reviewer_sees(client: Client, model: ModelVersion) -> None:
    """The review page and the API still serve the model's predictions."""
    assert client.get(reverse("review:queue")).status_code == 200
    answer = client.get("/api/predictions/")
    assert answer.status_code == 200
    assert {p["model_version"] for p in answer.json()["results"]} == {model.pk}


def test_a_worker_killed_mid_training_is_reaped_and_a_fresh_worker_trains_its_labels(
    slow_worker_env, workers, alice, wait_for
):
    slow_worker_env.setenv("TAXOLOOP_PROMOTION_MARGIN", "1")  # the retrained model is promoted
    version = _shop()
    truth = clustered_items(leaves_of(version), 8)
    _label(dict(list(truth.items())[::2]))
    doomed = workers()
    before = _first_model(version, len(truth), wait_for)
    served = _predictions()
    _label(dict(list(truth.items())[1::4]))  # labels only the next model can have seen

    run = training_request(version, trigger="manual")
    assert run is not None
    assert wait_for(lambda: _run(run.pk).stage == "training" and _run(run.pk).progress > 0.12, 60)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    half_made = _run(run.pk).model_version
    assert (_run(run.pk).status, half_made.status) == ("running", "training")
    assert _active(version) == before and _predictions() == served
    reviewer = Client()
    reviewer.force_login(alice)
    _reviewer_sees(reviewer, before)

    # A fresh worker; beat's every-minute reaper finds the run silent and fails it.
    slow_worker_env.setenv("TAXOLOOP_STALE_RUN_SECONDS", str(STALE_SECONDS))
    workers()
    silent_since = _run(run.pk).heartbeat_at
    time.sleep(max(0.0, STALE_SECONDS + 1 - (timezone.now() - silent_since).total_seconds()))
    reap_stale_runs_task.delay()
    assert wait_for(lambda: _run(run.pk).status == "failed", 30), "the reaper never ran"
    reaped = _run(run.pk)
    assert reaped.error == STALE_RUN.format(at=silent_since.isoformat(), seconds=STALE_SECONDS)
    assert reaped.model_version.status == "rejected"
    assert _active(version) == before and _predictions() == served

    # Beat's periodic trigger: there are labels no finished training has seen → train again.
    periodic_training_task.delay()
    retrain = lambda: TrainingRun.objects.exclude(pk__in=[run.pk]).filter(trigger="beat")  # noqa: E731
    assert wait_for(lambda: retrain().filter(status="succeeded").exists(), 120), list(
        retrain().values_list("status", "outcome")
    )
    after = _active(version)
    assert after == retrain().get().model_version and after not in (before, half_made)
    assert after.newest_label_at == Label.objects.latest("created_at").created_at
    assert after.label_count > before.label_count
    assert wait_for(
        lambda: set(Prediction.objects.values_list("model_version", flat=True)) == {after.pk}, 60
    )
    _reviewer_sees(reviewer, after)
    statuses = dict(ModelVersion.objects.values_list("pk", "status"))
    assert statuses == {before.pk: "retired", half_made.pk: "rejected", after.pk: "active"}
