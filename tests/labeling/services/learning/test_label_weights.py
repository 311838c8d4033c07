"""labeling.services.learning.label_weights: a training label weighs its author's trust."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model import HierarchicalClassifier
from labeling.models import ReviewerReliability
from labeling.services.learning import training as svc
from labeling.services.learning.label_weights import label_weights_prepare, weight_summary
from labeling.services.learning.ml import version_tree
from labeling.services.learning.training_data import current_labels
from labeling.services.review import labels as label_svc
from tests.factories import ItemFactory, UserFactory
from tests.labeling.services.loop_data import clustered_items, leaves_of

SHIRTS, SANDALS, WATCHES = (
    "Apparel > Topwear > Shirts",
    "Footwear > Shoes > Sandals",
    "Accessories > Watches",
)


def _trusted(user, version, accuracy=0.7, **trust):
    return ReviewerReliability.objects.create(
        user=user, taxonomy_version=version, accuracy=accuracy, trust=trust
    )


def _label(tree, path, author, source="review", context=""):
    return label_svc.label_create(
        item=ItemFactory(), category=tree[path], author=author, source=source, context=context
    )


@pytest.fixture
def weighed(tree, version, alice):
    """One label of each kind, in this order: alice's in two branches, alice's agreed one,
    an import, and one by a reviewer with no estimate."""
    _label(tree, SHIRTS, alice)
    _label(tree, SANDALS, alice)
    _label(tree, WATCHES, alice, context="agreed")
    _label(tree, WATCHES, None, source="import")
    _label(tree, SHIRTS, UserFactory(username="newcomer"))
    _trusted(alice, version, accuracy=0.7, apparel=0.4)
    return version


def test_a_label_weighs_its_authors_branch_trust_else_accuracy_else_one(weighed):
    labels = current_labels(weighed, version_tree(weighed))
    assert labels.weights.tolist() == [0.4, 0.7, 1.0, 1.0, 1.0]


def test_weights_can_be_turned_off(weighed, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RELIABILITY_WEIGHTS": False}
    assert current_labels(weighed, version_tree(weighed)).weights is None


def test_the_summary_counts_the_down_weighted_rows():
    summary = weight_summary(np.array([0.4, 1.0, 0.7, 1.0]))
    assert summary == {"rows": 4, "down_weighted": 2, "min": 0.4, "mean": 0.775}
    assert weight_summary(None) is None


@pytest.mark.usefixtures("small_loop", "sent")
def test_a_training_run_fits_on_the_weights_and_records_them(tree, version, alice, monkeypatch):
    truth = clustered_items(leaves_of(version), 5, seed=0)
    for item, leaf in truth.items():
        label_svc.label_create(item=item, category=leaf, author=alice, source="review")
    _trusted(alice, version, apparel=0.5, footwear=1.0, accessories=1.0)  # newer than the ledger
    passed = []
    fit = HierarchicalClassifier.fit

    def recording_fit(self, X, y, **kwargs):
        passed.append(kwargs.get("sample_weight"))
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(HierarchicalClassifier, "fit", recording_fit)
    run = svc.training_run(svc.training_request(version, trigger="manual", enqueue=False).pk)
    recorded = run.model_version.metrics["label_weights"]
    (weights,) = passed
    assert sorted(set(weights.tolist())) == [0.5, 1.0]
    assert recorded["rows"] == len(weights) == run.model_version.label_count
    assert recorded["down_weighted"] == int((weights < 1).sum()) > 0
    assert recorded["min"] == 0.5


def test_a_run_refreshes_the_estimates_first_unless_weights_are_off(tree, version, alice, settings):
    _label(tree, SHIRTS, alice)
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RELIABILITY_WEIGHTS": False}
    label_weights_prepare(version=version)
    assert not ReviewerReliability.objects.exists()
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RELIABILITY_WEIGHTS": True}
    label_weights_prepare(version=version)
    assert ReviewerReliability.objects.get().answers == 1
