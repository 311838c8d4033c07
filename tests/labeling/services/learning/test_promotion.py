"""labeling.services.learning.promotion: per-node accuracy, hand-computed, down to the admin tree."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.tree import Tree
from labeling.models import ModelVersion
from labeling.selectors.taxonomy_admin import tree_page as admin_tree
from labeling.services.learning import ml
from labeling.services.learning import promotion as model_eval
from labeling.services.learning.training_data import LabelSet


def test_per_node_accuracy_counts_a_prediction_in_the_right_branch_for_the_shared_ancestors():
    tree = Tree.from_paths([["A", "A1"], ["A", "A2"], ["B", "B1"]])
    at = tree.index_of
    true = np.array([at("A > A1"), at("A > A1"), at("A > A2"), at("A"), at("B > B1")])
    pred = np.array([at("A > A1"), at("A > A2"), at("B > B1"), at("A > A2"), at("B > B1")])
    accuracy, support = model_eval.per_node_accuracy(tree, true, pred)
    # A: items 1-4 are under it, 1, 2 and 4 are predicted under it. A1: 1 of items 1, 2.
    # A2: item 3 went to B. The partial label "A" says nothing about A1 or A2.
    assert accuracy == {"A": 0.75, "A > A1": 0.5, "A > A2": 0.0, "B": 1.0, "B > B1": 1.0}
    assert support == {"A": 4, "A > A1": 2, "A > A2": 1, "B": 1, "B > B1": 1}


class _FixedModel:
    """Predicts the given leaf for each row (a one-hot probability row)."""

    def __init__(self, tree: Tree, leaves: list[int]) -> None:
        self.proba = np.eye(tree.n_leaves, dtype=np.float32)[tree.leaf_index[leaves]]

    def predict_proba(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return self.proba


@pytest.mark.django_db
def test_the_metrics_carry_per_node_accuracy_by_key_and_the_admin_tree_shows_it(tree, version):
    vt = ml.version_tree(version)
    node = {path: vt.node_of(c.pk) for path, c in tree.items()}
    shirts, tshirts = node["Apparel > Topwear > Shirts"], node["Apparel > Topwear > Tshirts"]
    jeans, sandals = node["Apparel > Bottomwear > Jeans"], node["Footwear > Shoes > Sandals"]
    true = [shirts, shirts, jeans, node["Apparel > Topwear"]]
    held = LabelSet(np.arange(4), np.array(true), np.zeros(4, dtype=bool), None)
    model = _FixedModel(vt.tree, [shirts, tshirts, sandals, tshirts])
    metrics = model_eval.model_metrics(model, vt, held, {"text": np.zeros((4, 1))}, 0.85)  # type: ignore[arg-type]
    expected = {
        "apparel": 0.75,
        "apparel/topwear": 1.0,
        "apparel/topwear/shirts": 0.5,
        "apparel/bottomwear": 0.0,
        "apparel/bottomwear/jeans": 0.0,
    }
    assert metrics["per_node_accuracy"] == expected
    assert metrics["per_node_support"]["apparel"] == 4
    ModelVersion.objects.create(taxonomy_version=version, status="active", metrics=metrics)
    shown = {row.category.key: row.accuracy for row in admin_tree(version=version).rows}
    assert shown["apparel/topwear/shirts"] == 0.5 and shown["footwear"] is None
