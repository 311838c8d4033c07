"""labeling.services.learning.training: coalesced requests, runs, promotion, cold start, the reaper."""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from classifier.metrics import evaluate
from labeling.models import Label, ModelVersion, TrainingRun
from labeling.services import dispatch
from labeling.services.catalog.embeddings import embed_items
from labeling.services.learning import ml, triggers
from labeling.services.learning import promotion as model_eval
from labeling.services.learning import training as svc
from labeling.services.learning.training_data import current_labels, evaluation_mask
from labeling.services.review import labels as label_svc
from tests.factories import ItemFactory
from tests.labeling.conftest import small_models_settings
from tests.labeling.services.loop_data import (
    clustered_items,
    leaves_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]


@pytest.fixture(autouse=True)
def small_models(settings, small_loop):
    small_models_settings(settings, PROMOTION_MARGIN=0.0, TRAIN_EVERY_N_LABELS=5)


def _labelled(version, per_leaf=10, audit_every=4, seed=0):
    """Clustered items with correct labels; every ``audit_every``-th item via the audit slice."""
    truth = clustered_items(leaves_of(version), per_leaf, seed=seed)
    for i, (item, leaf) in enumerate(truth.items()):
        label_svc.label_create(
            item=item, category=leaf, author=None, source="review", is_audit=i % audit_every == 0
        )
    return truth


def _run(version, trigger="manual"):
    run = svc.training_request(version, trigger=trigger, enqueue=False)
    return svc.training_run(run.pk)


def test_a_request_queues_a_run_and_sends_the_task_after_commit(
    version, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = svc.training_request(version, trigger="beat")
        assert sent == []
    assert (run.status, run.trigger) == ("queued", "beat")
    assert sent == [("train_model_task", (run.pk,))]


def test_a_second_request_while_one_is_in_flight_is_coalesced(version, sent):
    first = svc.training_request(version, trigger="beat")
    assert svc.training_request(version, trigger="labels") is None
    TrainingRun.objects.filter(pk=first.pk).update(status="running")
    assert svc.training_request(version, trigger="manual") is None
    assert TrainingRun.objects.count() == 1


def test_a_run_trains_evaluates_and_promotes_the_first_model(tree, version, sent):
    _labelled(version)
    calls = []
    run = svc.training_request(version, trigger="manual", enqueue=False)
    run = svc.training_run(run.pk, progress=lambda f, stage: calls.append((f, stage)))
    model = run.model_version
    assert (run.status, run.outcome, run.progress, run.stage) == (
        "succeeded",
        model_eval.NO_ACTIVE,
        1.0,
        "done",
    )
    assert model.status == "active" and model.promoted_at is not None
    assert run.finished_at >= run.started_at and run.error == ""
    assert set(run.timings) == {
        "gathering labels",
        "loading embeddings",
        "training",
        "evaluating",
        "saving",
        "deciding",
        "total",
    }
    # Progress rises through the stages, one heartbeat per epoch.
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and [s for _, s in calls][:2] == [
        "gathering labels",
        "loading embeddings",
    ]
    # 60 labels, 15 audit (every 4th); the rest split by hash: the counts add up.
    m = model.metrics
    assert (
        m["n_audit"] == 15 and m["n_eval"] + m["n_train"] == 60 == m["n_eval"] + model.label_count
    )
    assert m["score_name"] == "hierarchical_f1" and m["score"] == m["hierarchical_f1"] > 0.9
    assert m["audit"]["n_items"] == 15 and m["baseline"] is None
    assert model.newest_label_at == Label.objects.order_by("-created_at").first().created_at
    assert ml.load_model(model).tree.n_leaves == 6


def test_the_candidate_is_compared_with_the_active_model_on_the_same_held_out_labels(
    tree, version, sent
):
    _labelled(version)
    first = _run(version).model_version
    ItemFactory()  # unrelated change; a second run on the same labels
    second = _run(version)
    vt = ml.version_tree(version)
    labels = current_labels(version, vt)
    held = labels.subset(evaluation_mask(labels, version_id=version.pk, fraction=0.2))
    proba = ml.load_model(first).predict_proba(ml.item_features(held.item_ids))
    expected = evaluate(vt.tree, proba, held.nodes, 0.85)
    metrics = second.model_version.metrics
    figures = {
        "score": pytest.approx(expected["hierarchical_f1"]),
        "leaf_accuracy": pytest.approx(expected["leaf_accuracy"]),
        "macro_f1": pytest.approx(expected["macro_f1"]),
    }
    assert metrics["baseline"] == {"model": first.pk, **figures}
    # The same items for both: the paired difference is the difference of the two scores.
    comparison = metrics["comparison"]
    assert comparison["n"] == len(held) == metrics["n_eval"]
    assert comparison["difference"] == pytest.approx(metrics["score"] - expected["hierarchical_f1"])
    assert comparison["low"] <= comparison["difference"] <= comparison["high"]
    assert (comparison["model"], comparison["margin"], comparison["resamples"]) == (
        first.pk,
        0.0,
        2000,
    )
    assert metrics["common"] == {
        "n_eval": len(held),
        "n_audit": metrics["n_audit"],
        "models": {str(first.pk): figures},
    }
    assert second.outcome.startswith(
        f"promoted: hierarchical_f1 {second.model_version.metrics['score']:.4f} vs active model #{first.pk}"
    )
    first.refresh_from_db()
    assert (first.status, second.model_version.status, second.model_version.parent_id) == (
        "retired",
        "active",
        first.pk,
    )


def test_a_worse_candidate_is_rejected_and_the_active_model_stays(tree, version, sent):
    truth = _labelled(version)
    active = _run(version).model_version
    leaves = leaves_of(version)
    rng = np.random.default_rng(3)
    for item, leaf in truth.items():  # reviewers "correct" the non-audit items to noise
        item.refresh_from_db()
        if not item.current_label.is_audit:
            wrong = [c for c in leaves if c != leaf][rng.integers(len(leaves) - 1)]
            label_svc.label_create(item=item, category=wrong, author=None, source="review")
    run = _run(version)
    candidate = run.model_version
    active.refresh_from_db()
    assert (run.status, candidate.status, active.status) == ("succeeded", "rejected", "active")
    comparison = candidate.metrics["comparison"]
    assert comparison["high"] < 0 and comparison["n"] == candidate.metrics["n_eval"]
    assert run.outcome.startswith("rejected: hierarchical_f1 ")
    assert run.outcome.endswith("worse with confidence (the interval is below 0)")
    assert ("rescore_task", (candidate.pk,)) not in sent


def test_promotion_sends_a_rescore_after_commit(
    tree, version, sent, django_capture_on_commit_callbacks
):
    _labelled(version)
    with django_capture_on_commit_callbacks(execute=True):
        run = _run(version)
    assert sent == [("rescore_task", (run.model_version.pk,))]


def test_a_failing_run_is_marked_failed_with_the_reason_and_changes_nothing(
    tree, version, sent, monkeypatch, caplog
):
    _labelled(version)
    active = _run(version).model_version

    def boom(self, *a, **kw):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(svc.HierarchicalClassifier, "fit", boom)
    with caplog.at_level(logging.ERROR, logger="labeling.services.learning.training"):
        run = _run(version)
    assert (run.status, run.error) == ("failed", "RuntimeError: out of memory")
    assert run.outcome == "failed: RuntimeError: out of memory"
    assert run.model_version.status == "rejected"
    assert ml.active_model_version(version) == active
    assert "training run" in caplog.text and "failed" in caplog.text


def test_a_run_that_already_ran_is_a_no_op(tree, version, sent):
    _labelled(version)
    run = _run(version)
    again = svc.training_run(run.pk)
    assert (again.status, again.model_version_id) == ("succeeded", run.model_version_id)
    assert ModelVersion.objects.count() == 1


def test_a_run_reaped_while_training_discards_its_result(tree, version, sent):
    _labelled(version)
    run = svc.training_request(version, trigger="manual", enqueue=False)

    def reaped_mid_way(fraction, stage):
        # After the first epoch (training reports 0.1 + 0.7 x its share of the epochs): a
        # later threshold depended on how soon early stopping ends this small fit.
        if stage == "training" and fraction > 0.1:
            svc.training_run_fail(run=run, error="reaped")

    result = svc.training_run(run.pk, progress=reaped_mid_way)
    assert (result.status, result.error) == ("failed", "reaped")
    assert result.model_version.status == "rejected"
    assert ml.active_model_version(version) is None


def test_too_few_labels_skip_training_and_start_cold(tree, version, sent):
    for leaf in leaves_of(version):
        ItemFactory(title=f"{leaf.name} first")
    embed_items()
    item = ItemFactory(title="Shirts late")
    label_svc.label_create(
        item=item, category=tree["Apparel > Topwear > Shirts"], author=None, source="review"
    )
    run = _run(version)
    cold = ml.active_model_version(version)
    assert cold.config["kind"] == "cold_start"
    assert run.outcome == (
        svc.TOO_FEW_LABELS.format(n=0, minimum=10) + svc.COLD_START_ACTIVE.format(pk=cold.pk)
    )  # the late item has no embedding yet, so 0 usable labels
    assert run.status == "succeeded" and run.model_version is None


def test_the_cold_start_model_matches_items_to_category_names(tree, version, sent):
    leaves = leaves_of(version)
    items = [ItemFactory(title=f"{leaf.name} number {i}") for leaf in leaves for i in range(3)]
    embed_items()
    model = svc.cold_start_model(version)
    assert (model.status, model.config["kind"], model.label_count) == ("active", "cold_start", 0)
    vt = ml.version_tree(version)
    proba = ml.load_model(model).predict_proba(ml.item_features([i.pk for i in items]))
    predicted = vt.category_ids[vt.tree.leaves[proba.argmax(axis=1)]]
    expected = [leaf.pk for leaf in leaves for _ in range(3)]
    assert predicted.tolist() == expected
    assert svc.cold_start_model(version) == model  # an active model exists: returned as is
    assert sent == [] and ModelVersion.objects.count() == 1


def test_a_cold_start_model_is_replaced_by_the_first_trained_model(tree, version, sent):
    _labelled(version)
    cold = svc.cold_start_model(version)
    run = _run(version)
    cold.refresh_from_db()
    assert cold.status == "retired" and run.model_version.status == "active"
    assert run.model_version.metrics["baseline"]["model"] == cold.pk


def _decision_metrics(active, score, baseline, comparison):
    return {
        "score": score,
        "score_name": "hierarchical_f1",
        "n_eval": 63,
        "n_audit": 10,
        "baseline": {"model": active.pk, "score": baseline, "error": "bad artifact"},
        "comparison": comparison,
    }


def _interval(diff, low, high):
    return {"difference": diff, "low": low, "high": high, "confidence": 0.95, "n": 63}


SCORES_63 = "hierarchical_f1 {c:.4f} vs active model #{a} {b:.4f} on 63 held-out labels (10 audit)"


@pytest.mark.parametrize(
    ("score", "baseline", "interval", "margin", "promote", "ending"),
    [
        # The case: 0.01 lower on 63 labels, an interval across 0: promoted.
        (0.80, 0.81, (-0.01, -0.04, 0.0), 0.0, True, "not worse with confidence"),
        (
            0.70,
            0.81,
            (-0.11, -0.17, -0.05),
            0.0,
            False,
            "worse with confidence (the interval is below 0)",
        ),
        # With a margin of 0.1 a loss whose interval reaches above -0.1 is tolerated ...
        (0.70, 0.81, (-0.11, -0.17, -0.05), 0.1, True, "not worse with confidence"),
        # ... and one wholly below -0.1 is not.
        (
            0.60,
            0.81,
            (-0.21, -0.27, -0.15),
            0.1,
            False,
            "worse with confidence (the interval is below -0.1)",
        ),
    ],
)
def test_promotion_rejects_only_a_candidate_worse_with_confidence(
    version, score, baseline, interval, margin, promote, ending
):
    active = ModelVersion.objects.create(taxonomy_version=version, status="active")
    metrics = _decision_metrics(active, score, baseline, _interval(*interval))
    diff, low, high = interval
    expected = (
        f"{'promoted' if promote else 'rejected'}: "
        + SCORES_63.format(c=score, a=active.pk, b=baseline)
        + f"; difference {diff:+.4f}, 95% interval [{low:+.4f}, {high:+.4f}]: {ending}"
    )
    assert model_eval.promotion_decision(metrics, active, margin) == (promote, expected)


def test_promotion_decision_when_the_active_model_could_not_be_scored(version):
    active = ModelVersion.objects.create(taxonomy_version=version, status="active")
    metrics = _decision_metrics(active, 0.9, None, None)
    assert model_eval.promotion_decision(metrics, active, 0.0) == (
        True,
        f"promoted: the active model #{active.pk} could not be scored (bad artifact)",
    )


def test_the_paired_comparison_of_one_lost_item_in_63_promotes(tree, version):
    # Hand-computed in tests/classifier/metrics/test_paired.py: [-3/63, 0] for accuracy; in
    # hierarchical F1 a top-level miss on a depth-3 leaf costs 6 of 63 x 6 parts.
    vt = ml.version_tree(version)
    shirts = vt.node_of(tree["Apparel > Topwear > Shirts"].pk)
    sandals = vt.tree.leaf_index[vt.node_of(tree["Footwear > Shoes > Sandals"].pk)]
    true = np.full(63, shirts)
    base = np.eye(vt.tree.n_leaves)[np.full(63, vt.tree.leaf_index[shirts])]
    cand = base.copy()
    cand[5] = np.eye(vt.tree.n_leaves)[sandals]
    got = model_eval.paired_comparison(vt.tree, true, cand, base)
    assert got["difference"] == pytest.approx(-6 / 378) and got["high"] == 0.0
    assert got["low"] == pytest.approx(-3 * 6 / 378) and got["n"] == 63


def test_promotion_decision_without_held_out_labels(version):
    cold = ModelVersion.objects.create(
        taxonomy_version=version, status="active", config={"kind": "cold_start"}
    )
    trained = ModelVersion.objects.create(taxonomy_version=version, status="retired")
    metrics = {"score": None, "n_eval": 0, "n_audit": 0, "baseline": None}
    assert model_eval.promotion_decision(metrics, cold, 0.0) == (
        True,
        f"promoted: no held-out labels; it replaces the cold-start model #{cold.pk}",
    )
    assert model_eval.promotion_decision(metrics, trained, 0.0) == (
        False,
        f"rejected: no held-out labels to compare with the active model #{trained.pk}",
    )
    assert model_eval.promotion_decision(metrics, None, 0.0) == (True, model_eval.NO_ACTIVE)


def test_the_reaper_fails_runs_without_a_recent_heartbeat(version, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "STALE_RUN_SECONDS": 60}
    now = timezone.now()
    model = ModelVersion.objects.create(taxonomy_version=version, status="training")
    stale = TrainingRun.objects.create(
        taxonomy_version=version,
        status="running",
        model_version=model,
        started_at=now - timedelta(minutes=5),
        heartbeat_at=now - timedelta(seconds=61),
    )
    assert svc.training_runs_reap(now=now) == 1
    stale.refresh_from_db()
    model.refresh_from_db()
    expected = svc.STALE_RUN.format(at=(now - timedelta(seconds=61)).isoformat(), seconds=60)
    assert (stale.status, stale.error, model.status) == ("failed", expected, "rejected")
    assert stale.finished_at is not None


def test_the_reaper_leaves_live_and_queued_runs_alone(version, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "STALE_RUN_SECONDS": 60}
    now = timezone.now()
    live = TrainingRun.objects.create(
        taxonomy_version=version,
        status="running",
        started_at=now - timedelta(hours=1),
        heartbeat_at=now - timedelta(seconds=30),
    )
    assert svc.training_runs_reap(now=now) == 0
    live.status = "queued"
    live.save()
    assert svc.training_runs_reap(now=now + timedelta(hours=1)) == 0


def test_labels_added_requests_training_every_n_labels(tree, version, sent):
    items = ItemFactory.create_batch(6)
    shirts = tree["Apparel > Topwear > Shirts"]
    for item in items[:4]:
        label_svc.label_create(item=item, category=shirts, author=None, source="review")
    assert svc.labels_added(version) is None  # 4 < 5
    label_svc.label_create(item=items[4], category=shirts, author=None, source="review")
    run = svc.labels_added(version)
    assert (run.status, run.trigger) == ("queued", "labels")
    assert svc.labels_added(version) is None  # in flight: coalesced


def test_a_web_process_counts_labels_at_most_once_per_interval(
    tree, version, sent, settings, django_assert_num_queries
):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TRAIN_CHECK_INTERVAL_SECONDS": 60.0}
    triggers._last_count.clear()
    items = ItemFactory.create_batch(5)
    shirts = tree["Apparel > Topwear > Shirts"]
    for item in items:
        label_svc.label_create(item=item, category=shirts, author=None, source="review")
    run = svc.labels_added(version)  # the first count: 5 labels, a training
    assert (run.status, run.trigger) == ("queued", "labels")
    with django_assert_num_queries(0):  # within the minute: no count at all
        assert svc.labels_added(version) is None
    triggers._last_count.clear()  # as if the minute had passed
    with django_assert_num_queries(1):  # due again: counted (one in flight: coalesced)
        assert svc.labels_added(version) is None


def test_labels_added_counts_from_the_last_finished_training(tree, version, sent):
    _labelled(version, per_leaf=3)
    _run(version)  # skipped (18 < MIN_LABELS=10? no: 18 labels) -> trains and promotes
    assert svc.labels_added(version) is None
    extra = ItemFactory.create_batch(5)
    for item in extra[:4]:
        label_svc.label_create(
            item=item, category=tree["Accessories > Watches"], author=None, source="review"
        )
    assert svc.labels_added(version) is None
    label_svc.label_create(
        item=extra[4], category=tree["Accessories > Watches"], author=None, source="review"
    )
    assert svc.labels_added(version) is not None


def test_labels_added_waits_after_a_failed_run(tree, version, sent):
    TrainingRun.objects.create(
        taxonomy_version=version, status="failed", finished_at=timezone.now()
    )
    for item in ItemFactory.create_batch(5):
        label_svc.label_create(
            item=item, category=tree["Accessories > Watches"], author=None, source="review"
        )
    assert svc.labels_added(version) is None


def test_periodic_training_starts_without_an_active_model_and_then_only_for_new_labels(
    tree, version, sent
):
    _labelled(version, per_leaf=3)
    first = svc.training_periodic(version)
    assert first.trigger == "beat"
    svc.training_run(first.pk)
    assert svc.training_periodic(version) is None
    label_svc.label_retract(label=Label.objects.filter(kind="label").first(), author=None)
    assert svc.training_periodic(version) is not None


def test_periodic_training_resends_runs_left_queued(version, sent):
    run = svc.training_request(version, trigger="labels")
    TrainingRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert svc.training_periodic(version) is None  # coalesced into the queued run
    assert sent == [("train_model_task", (run.pk,))]


def test_enqueue_logs_and_swallows_a_broker_that_is_down(monkeypatch, caplog):
    from kombu.exceptions import OperationalError

    from labeling import tasks

    def down(*a, **kw):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.train_model_task, "apply_async", down)
    with caplog.at_level(logging.ERROR, logger="labeling.services.dispatch"):
        assert dispatch.enqueue_now("train_model_task", 42) is False
    assert "could not enqueue train_model_task(42,)" in caplog.text


def test_the_active_and_the_recently_retired_models_are_scored_on_the_same_labels(
    tree, version, sent
):
    _labelled(version)
    first = _run(version).model_version
    second = _run(version).model_version
    third = _run(version).model_version
    common = third.metrics["common"]
    assert set(common["models"]) == {str(first.pk), str(second.pk)}
    assert common["n_eval"] == third.metrics["n_eval"]
    assert common["models"][str(second.pk)] == {
        k: third.metrics["baseline"][k] for k in ("score", "leaf_accuracy", "macro_f1")
    }


def test_a_run_holds_out_or_trains_on_identical_titles_together(tree, version, sent):
    truth = _labelled(version)
    for i, item in enumerate(truth):  # two items per title: "Shirts 0" twice, ...
        item.title = f"{truth[item].name} {i // 2}"
        item.save(update_fields=["title"])
    model = _run(version).model_version
    labels = current_labels(version, ml.version_tree(version))
    features = ml.item_features(labels.item_ids)
    held = evaluation_mask(labels, version_id=version.pk, fraction=0.2, vectors=features["text"])
    assert (model.label_count, model.metrics["n_eval"]) == ((~held).sum(), held.sum())
    by_title = {}
    for title, h in zip(labels.titles, held, strict=True):
        by_title.setdefault(title, set()).add(bool(h))
    assert all(len(sides) == 1 for sides in by_title.values()) and len(by_title) == 30


def test_an_active_model_that_cannot_be_scored_does_not_block_promotion(tree, version, sent):
    _labelled(version)
    broken = ModelVersion.objects.create(taxonomy_version=version, status="active")  # no files
    run = _run(version)
    metrics = run.model_version.metrics
    error = ml.NO_ARTIFACT.format(pk=broken.pk, status="active")
    assert metrics["baseline"] == {"model": broken.pk, "score": None, "error": error}
    assert metrics["comparison"] is None and metrics["common"]["models"] == {}
    assert run.outcome == f"promoted: the active model #{broken.pk} could not be scored ({error})"
