"""Warm start across taxonomy versions: the new model begins as the old one, mapped."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.model import HierarchicalClassifier
from classifier.model.warm_start import WarmStart
from classifier.tree import Tree
from tests.classifier.model._data import accuracy, clustered, small_model_params, two_level_tree

# Old leaf scores in the hand-built model: item (c, s) on the unit circle scores
# a1 = 2c, a2 = 2s, b1 = -2c, b2 = -2s (a standardisation that changes nothing, T = 1).
HAND_WEIGHTS = [[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]]
NEW_PATHS = [["A", "a12"], ["B", "b1"], ["B", "b2x"], ["B", "b2y"]]
MERGE_AND_SPLIT = {"A > a12": ["A > a1", "A > a2"], "B > b2x": ["B > b2"], "B > b2y": ["B > b2"]}


def no_rows(X: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    return {m: x[:0] for m, x in X.items()}, np.zeros(0, dtype=np.int64)


def hand_built_model() -> HierarchicalClassifier:
    """Text-only linear heads with the weights above: scores are checkable by hand."""
    model = HierarchicalClassifier(two_level_tree(), modalities=("text",), min_labels_for_head=0)
    model.fit({"text": np.eye(2, dtype=np.float32)}, np.zeros(0, dtype=np.int64))
    net = model.net_
    net.set_standardisation({"text": (torch.zeros(2), torch.ones(2))})
    with torch.no_grad():
        for layer in (net.fused, net.heads["text"]):
            layer.weight.copy_(torch.tensor(HAND_WEIGHTS))
            layer.bias.zero_()
    model.n_epochs_ = 1  # it counts as trained: its heads are used
    return model


def warm_from_hand_built(sources: dict[str, list[str]]) -> HierarchicalClassifier:
    new = HierarchicalClassifier(Tree.from_paths(NEW_PATHS), min_labels_for_head=0)
    return new.fit(
        *no_rows({"text": np.eye(2, dtype=np.float32)}),
        warm_start=WarmStart(hand_built_model(), sources),
    )


def unit(angle_degrees: float) -> dict[str, np.ndarray]:
    a = math.radians(angle_degrees)
    return {"text": np.array([[math.cos(a), math.sin(a)]], dtype=np.float32)}


def test_a_merged_leaf_starts_with_the_summed_probability_where_its_old_leaves_agree() -> None:
    old, new = hand_built_model(), warm_from_hand_built(MERGE_AND_SPLIT)
    before, after = old.predict_proba(unit(45))[0], new.predict_proba(unit(45))[0]
    # a1 = a2 = 1.414, b1 = b2 = -1.414: the first-order row is exact, e^2.828 / (e^2.828 + 1).
    assert after[0] == pytest.approx(before[0] + before[1], abs=1e-6)
    assert after[0] == pytest.approx(0.9442, abs=1e-4)


def test_where_the_merged_leaves_disagree_the_merged_probability_is_a_lower_bound() -> None:
    old, new = hand_built_model(), warm_from_hand_built(MERGE_AND_SPLIT)
    before, after = old.predict_proba(unit(0))[0], new.predict_proba(unit(0))[0]
    # Exact: (e^2 + 1) / (e^2 + 1 + e^-2 + 1) = 0.8808. The row (mean weights, bias ln 2)
    # scores 1 + ln 2 = 1.693 against e^-2 and two halves of e^0: 5.436 / 6.571 = 0.8273.
    assert before[0] + before[1] == pytest.approx(0.8808, abs=1e-4)
    assert after[0] == pytest.approx(0.8273, abs=1e-4)


def test_split_children_share_the_parents_row_and_probability() -> None:
    old, new = hand_built_model(), warm_from_hand_built(MERGE_AND_SPLIT)
    before, after = old.predict_proba(unit(225))[0], new.predict_proba(unit(225))[0]
    assert after[2] == pytest.approx(after[3], abs=1e-7)
    assert after[2] + after[3] == pytest.approx(before[3], abs=1e-6)
    head = new.net_.heads["text"]
    assert head.weight[2].tolist() == head.weight[3].tolist() == HAND_WEIGHTS[3]
    assert head.bias[2].item() == pytest.approx(-math.log(2), abs=1e-6)


def test_unchanged_leaves_need_no_entry_and_keep_their_row() -> None:
    new = warm_from_hand_built(MERGE_AND_SPLIT)  # "B > b1" is in neither map nor changed
    assert new.net_.heads["text"].weight[1].tolist() == HAND_WEIGHTS[2]
    assert new.net_.fused.bias[1].item() == 0.0


def test_an_old_inner_node_stands_for_all_its_leaves() -> None:
    by_leaves = warm_from_hand_built(MERGE_AND_SPLIT)
    by_parent = warm_from_hand_built({**MERGE_AND_SPLIT, "A > a12": ["A"]})
    X = unit(20)
    assert np.array_equal(by_parent.predict_proba(X), by_leaves.predict_proba(X))


def test_a_warm_start_of_the_same_tree_reproduces_the_old_model(tree: Tree) -> None:
    X, y = clustered(tree, 300, seed=0, image_missing=0.2)
    old = HierarchicalClassifier(tree, **small_model_params()).fit(X, y)  # type: ignore[arg-type]
    new = HierarchicalClassifier(tree, **small_model_params())  # type: ignore[arg-type]
    new.fit(*no_rows(X), warm_start=WarmStart(old))
    X_test, _ = clustered(tree, 100, seed=1, image_missing=0.3)
    assert np.allclose(new.predict_committee(X_test), old.predict_committee(X_test), atol=1e-5)
    assert np.array_equal(new.leaf_counts_, old.leaf_counts_)


def test_a_leaf_without_a_source_starts_cold(tree: Tree) -> None:
    X, y = clustered(tree, 300, seed=0)
    old = HierarchicalClassifier(tree, **small_model_params()).fit(X, y)  # type: ignore[arg-type]
    new_tree = Tree.from_paths([*[tree.keys[i].split(" > ") for i in tree.leaves], ["C", "c"]])
    new = HierarchicalClassifier(new_tree, **small_model_params())  # type: ignore[arg-type]
    new.fit(*no_rows(X), warm_start=WarmStart(old))
    assert new.leaf_counts_.tolist() == [*old.leaf_counts_.tolist(), 0]
    assert np.linalg.norm(new.prototypes_["text"][4]) == 0.0  # no prototype, no novelty anchor
    X_test, y_test = clustered(tree, 200, seed=1)
    assert accuracy(new_tree, new.predict_proba(X_test), y_test) > 0.95


def test_a_warm_start_with_few_labels_beats_a_cold_start() -> None:
    tree = two_level_tree()
    X, y = clustered(tree, 400, seed=0, noise=1.5)
    old = HierarchicalClassifier(tree, **small_model_params()).fit(X, y)  # type: ignore[arg-type]
    new_tree = Tree.from_paths([["X", "a12"], ["B", "b1"], ["B", "b2"]])
    to_new = np.array([new_tree.index_of(k) for k in ["X > a12", "X > a12", "B > b1", "B > b2"]])
    X_few, y_few = clustered(tree, 8, seed=5, noise=1.5)
    X_test, y_test = clustered(tree, 1000, seed=9, noise=1.5)
    fits = {}
    for name, warm in (("cold", None), ("warm", WarmStart(old, {"X > a12": ["A"]}))):
        model = HierarchicalClassifier(new_tree, **small_model_params())  # type: ignore[arg-type]
        model.fit(X_few, to_new[tree.leaf_index[y_few]], warm_start=warm)
        fits[name] = accuracy(
            new_tree, model.predict_proba(X_test), to_new[tree.leaf_index[y_test]]
        )
    # 8 labels for 3 leaves under heavy noise: measured 0.37 cold, 0.61 warm.
    assert fits["warm"] > fits["cold"] + 0.15


def test_a_saved_warm_started_model_predicts_the_same_after_loading(
    tree: Tree, tmp_path: Path
) -> None:
    new = warm_from_hand_built(MERGE_AND_SPLIT)
    new.save(tmp_path)
    loaded = HierarchicalClassifier.load(tmp_path)
    X = {"text": np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)}
    assert loaded.warm_started_
    assert np.array_equal(loaded.predict_proba(X), new.predict_proba(X))


def test_it_refuses_unknown_keys_and_inner_nodes_as_targets() -> None:
    with pytest.raises(KeyError, match="unknown category key: 'A > nowhere'"):
        warm_from_hand_built({"A > a12": ["A > nowhere"]})
    with pytest.raises(ValueError, match="'B': it is not a leaf of the new tree"):
        warm_from_hand_built({"B": ["B > b1"]})


def test_it_refuses_features_of_another_width(tree: Tree) -> None:
    X, y = clustered(tree, 100, seed=0)
    old = HierarchicalClassifier(tree, **small_model_params()).fit(X, y)  # type: ignore[arg-type]
    wider = {"text": np.ones((4, 9), np.float32)}
    with pytest.raises(ValueError, match="'text' features of width 9 from a model of width 8"):
        HierarchicalClassifier(tree).fit(*no_rows(wider), warm_start=WarmStart(old))


def test_at_the_old_prototypes_a_merged_leaf_has_exactly_the_summed_probability(
    tree: Tree,
) -> None:
    X, y = clustered(tree, 300, seed=0, noise=1.0)
    old = HierarchicalClassifier(tree, **small_model_params()).fit(X, y)  # type: ignore[arg-type]
    new_tree = Tree.from_paths([["A", "a12"], ["B", "b1"], ["B", "b2"]])
    new = HierarchicalClassifier(new_tree, **small_model_params())  # type: ignore[arg-type]
    new.fit(*no_rows(X), warm_start=WarmStart(old, {"A > a12": ["A > a1", "A > a2"]}))
    at_prototypes = {m: p.copy() for m, p in old.prototypes_.items()}  # one row per old leaf
    before, after = old.predict_proba(at_prototypes), new.predict_proba(at_prototypes)
    assert np.allclose(after[:, 0], before[:, :2].sum(axis=1), atol=1e-3)
    assert np.allclose(after[:, 1:], before[:, 2:], atol=1e-3)


def test_a_model_without_images_starts_as_the_old_model_did_on_items_without_one(
    tree: Tree,
) -> None:
    X, y = clustered(tree, 300, seed=0, image_missing=0.2)
    old = HierarchicalClassifier(tree, **small_model_params()).fit(X, y)  # type: ignore[arg-type]
    new = HierarchicalClassifier(tree, modalities=("text",), **small_model_params())  # type: ignore[arg-type]
    new.fit(*no_rows({"text": X["text"]}), warm_start=WarmStart(old))
    text_only = {"text": clustered(tree, 100, seed=1)[0]["text"]}
    assert np.allclose(new.predict_proba(text_only), old.predict_proba(text_only), atol=1e-5)
