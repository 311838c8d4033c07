"""Auto-accept in the product (labeling.services.learning.auto_accept, issue 17): a model is
certified on the audit labels when its rescore job is planned; each prediction then has a
status (labelled / auto-accepted at a node / needs review) that follows every label write;
the queue spends people on auto-accepted items only through the audit slice, and raises that
slice while the policy lacks audit labels."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.certify import clopper_pearson_lower
from labeling.models import ModelVersion, Prediction, QueueEntry
from labeling.services.learning import auto_accept, rescore_jobs
from labeling.services.review import labels
from tests.labeling.services.loop_data import (
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
)
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches")

PER_LEAF = 150  # 6 leaves: 900 items


@pytest.fixture
def truth(tree, version):
    return clustered_items(leaves_of(version), PER_LEAF, seed=3, image_every=0)


@pytest.fixture
def model_version(version, truth):
    pairs = list(truth.items())
    return fit_and_store(version, pairs[:: PER_LEAF // 4])  # 4 items per leaf


def _audit(truth, alice, n: int, seed: int = 0) -> list:
    """Audit labels (the truth) on ``n`` random items the model was not trained on."""
    items = [item for i, item in enumerate(truth) if i % (PER_LEAF // 4)]
    rng = np.random.default_rng(seed)
    chosen = [items[i] for i in rng.choice(len(items), n, replace=False)]
    for item in chosen:
        labels.label_create(
            item=item, category=truth[item], author=alice, source="review", is_audit=True
        )
    return chosen


def _rescore(mv: ModelVersion) -> None:
    rescore_jobs.rescore_job_start(model_version=mv, task_id=None, worker="test")
    mv.refresh_from_db()


def test_a_model_certified_on_enough_audit_labels_auto_accepts_what_it_is_sure_of(
    version, truth, alice, model_version
):
    audited = _audit(truth, alice, 500)
    _rescore(model_version)

    stored = model_version.metrics["auto_accept"]
    assert stored["target"] == 0.99 and stored["n_audit"] == 500
    root = stored["units"][-1]
    assert root["category"] is None and root["threshold"] is not None
    # The stored bound is the one-sided Clopper-Pearson bound of the accepted audit items.
    n, errors = root["n_accepted"], root["n_errors"]
    assert n >= 299  # the fewest decisions that can certify 0.99 at all
    assert root["lower_bound"] == pytest.approx(
        clopper_pearson_lower(n - errors, n, root["alpha"]), abs=1e-6
    )
    assert root["lower_bound"] >= 0.99
    if errors == 0:  # by hand: all right, the bound is alpha ** (1 / n)
        assert root["lower_bound"] == pytest.approx(root["alpha"] ** (1 / n), abs=1e-6)

    # Per top-level branch: the same accepted audit items, split by where they were accepted.
    branches = stored["branches"]
    assert len(branches) == 3  # Apparel, Footwear, Accessories
    assert sum(b["n_accepted"] for b in branches) == n
    for b in branches:
        if b["n_accepted"]:
            k, m = b["n_accepted"] - b["n_errors"], b["n_accepted"]
            assert b["lower_bound"] == pytest.approx(clopper_pearson_lower(k, m, 0.05), abs=1e-6)

    predictions = Prediction.objects.select_related("item", "accepted_category")
    by_status = {s: [p for p in predictions if p.status == s] for s in Prediction.Status.values}
    labelled_ids = {i.pk for i in audited} | {i.pk for i in truth if i.current_label_id is not None}
    assert {p.item_id for p in by_status["labelled"]} == {
        p.item_id for p in predictions if p.item.current_label_id is not None
    }
    assert len(by_status["labelled"]) == 500
    accepted = by_status["auto_accepted"]
    assert len(accepted) > 0.5 * (len(truth) - len(labelled_ids))
    for p in accepted:  # accepted at the true leaf or one of its ancestors, never wrong
        true_path = truth[p.item].path
        assert true_path == p.accepted_category.path or true_path.startswith(
            p.accepted_category.path + " > "
        )
        assert p.accepted_confidence >= stored["leaf_thresholds"][str(p.top_category_id)] - 1e-6
    assert all(p.accepted_category_id is None for p in by_status["needs_review"])

    snapshot = model_version.metrics["auto_accept"]["catalog"]
    assert snapshot["by_status"]["auto_accepted"] == len(accepted)
    assert sum(snapshot["auto_accepted_by_depth"].values()) == len(accepted)


def test_status_follows_a_label_and_its_retraction(version, truth, alice, model_version):
    _audit(truth, alice, 500)
    _rescore(model_version)
    p = Prediction.objects.filter(status=Prediction.Status.AUTO_ACCEPTED).first()
    label = labels.label_create(item=p.item, category=truth[p.item], author=alice, source="review")
    p.refresh_from_db()
    assert p.status == Prediction.Status.LABELLED
    labels.label_retract(label=label, author=alice)
    p.refresh_from_db()
    assert p.status == Prediction.Status.AUTO_ACCEPTED


def test_the_queue_gives_auto_accepted_items_to_people_only_for_audit(
    version, truth, alice, model_version, settings
):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_SIZE": 200}
    _audit(truth, alice, 500)
    _rescore(model_version)
    accepted = set(
        Prediction.objects.filter(status=Prediction.Status.AUTO_ACCEPTED).values_list(
            "item_id", flat=True
        )
    )
    entries = list(QueueEntry.objects.values_list("item_id", "reason"))
    assert entries and accepted
    assert {reason for item, reason in entries if item in accepted} <= {"audit"}


def test_too_few_audit_labels_accept_nothing_and_raise_the_audit_share(
    version, truth, alice, model_version, settings
):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_SIZE": 100}
    _audit(truth, alice, 30)
    _rescore(model_version)
    stored = model_version.metrics["auto_accept"]
    assert stored["units_certified"] == 0 and stored["leaf_thresholds"] == {}
    assert not Prediction.objects.filter(status=Prediction.Status.AUTO_ACCEPTED).exists()
    wanted = auto_accept.audit_wanted(model_version)
    assert wanted > 0
    # Half the 100-entry batch (the most it is raised to) instead of the quota's share.
    n_audit = QueueEntry.objects.filter(reason="audit").count()
    assert n_audit == min(wanted, 50)


def test_no_target_precision_means_no_auto_accept(version, truth, alice, model_version):
    version.target_precision = None
    version.save(update_fields=["target_precision"])
    _audit(truth, alice, 500)
    _rescore(model_version)
    assert model_version.metrics["auto_accept"]["target"] is None
    assert auto_accept.audit_wanted(model_version) == 0
    statuses = set(Prediction.objects.values_list("status", flat=True))
    assert statuses == {Prediction.Status.LABELLED, Prediction.Status.NEEDS_REVIEW}
