"""Cold start: zero-shot from category names, prototype blending and novelty."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from classifier.model import HierarchicalClassifier, zero_shot_proba
from classifier.model.coldstart import (
    UNSCORED_MASS,
    alternative_proba,
    blend,
    nearest_distance,
    prototypes,
)
from classifier.model.prediction import leaf_trust
from classifier.tree import Tree
from tests.classifier.model._data import accuracy, centres, clustered, small_model_params


def name_embeddings(seed: int = 7) -> np.ndarray:
    """Stand-ins for the embedded category names: each leaf's text centre, slightly off."""
    rng = np.random.default_rng(seed)
    return (centres()["text"] + 0.2 * rng.normal(size=(4, 8))).astype(np.float32)


def test_zero_shot_is_a_softmax_of_cosines_over_the_temperature() -> None:
    proba = zero_shot_proba(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 3.0]]), 0.5)
    # cos = [1, 0] → softmax([2, 0])
    assert proba[0].tolist() == pytest.approx([math.e**2 / (math.e**2 + 1), 1 / (math.e**2 + 1)])


def test_prototypes_are_unit_means_of_unit_rows_per_leaf() -> None:
    x = np.array([[3.0, 4.0], [0.0, 2.0], [1.0, 0.0], [np.nan, 1.0]])
    protos, counts = prototypes(x, np.array([0, 0, -1, 1]), n_leaves=3)
    # Leaf 0: [0.6, 0.8] + [0, 1] = [0.6, 1.8], over its norm √3.6; inner-node and NaN rows skipped.
    assert protos[0].tolist() == pytest.approx([0.6 / math.sqrt(3.6), 1.8 / math.sqrt(3.6)])
    assert protos[1:].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert counts.tolist() == [2, 0, 0]


def test_alternative_scores_leave_a_small_share_to_leaves_without_anchor() -> None:
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    scored = torch.tensor([True, True, False])
    alt = alternative_proba(torch.tensor([[1.0, 0.0]]), anchors, scored, temperature=1.0)
    keep = 1 - UNSCORED_MASS
    expected = [keep * math.e / (math.e + 1), keep / (math.e + 1), UNSCORED_MASS]
    assert alt[0].tolist() == pytest.approx(expected)


def test_blending_gives_under_labelled_leaves_their_alternative_share() -> None:
    head = torch.tensor([[0.6, 0.3, 0.1]])
    alt = torch.tensor([[0.2, 0.3, 0.5]])
    # Untrusted mass q = 0.5 * 0.3 + 1 * 0.5 = 0.65; the head shares 0.35 as [0.6, 0.15] / 0.75.
    out = blend(head, alt, torch.tensor([1.0, 0.5, 0.0]))
    assert out[0].tolist() == pytest.approx([0.35 * 0.8, 0.35 * 0.2 + 0.15, 0.5])
    assert blend(head, alt, torch.ones(3))[0].tolist() == pytest.approx([0.6, 0.3, 0.1])


def test_nearest_distance_is_one_minus_the_best_cosine() -> None:
    unit = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 0.0]])
    present = torch.tensor([True, True, False])
    dist = nearest_distance(unit, present, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert dist[:2].tolist() == pytest.approx([0.0, 0.2])
    assert math.isnan(float(dist[2]))


def test_with_no_labels_it_ranks_the_category_whose_name_matches_highest(tree: Tree) -> None:
    X, y = clustered(tree, 200, seed=1)
    model = HierarchicalClassifier(tree).fit(X, np.array([]), zero_shot=name_embeddings())
    proba = model.predict_proba(X)
    assert model.n_epochs_ == 0
    assert accuracy(tree, proba, y) > 0.95
    names = name_embeddings()
    single = model.predict_proba({"text": names[[2]]})
    assert single[0].argmax() == 2


def test_with_neither_labels_nor_names_it_spreads_probability_evenly(tree: Tree) -> None:
    X, _ = clustered(tree, 5)
    proba = HierarchicalClassifier(tree).fit(X, np.array([])).predict_proba(X)
    assert np.allclose(proba, 0.25)


def test_it_refuses_name_embeddings_of_the_wrong_shape(tree: Tree) -> None:
    X, _ = clustered(tree, 5)
    with pytest.raises(ValueError, match=r"zero_shot must be \(n_leaves, d_text\), got \(3, 8\)"):
        HierarchicalClassifier(tree).fit(X, np.array([]), zero_shot=np.ones((3, 8)))


def rare_b2_model(tree: Tree, min_labels: int) -> HierarchicalClassifier:
    """Trained with ~60 labels for a1, a2, b1 and exactly 2 for b2."""
    X, y = clustered(tree, 180, seed=5, leaf_p=np.array([1, 1, 1, 0]) / 3)
    Xb, yb = clustered(tree, 40, seed=6, leaf_p=np.array([0, 0, 0, 1.0]))
    X = {m: np.concatenate([X[m], Xb[m][:2]]) for m in X}
    params = {**small_model_params(), "min_labels_for_head": min_labels}
    return HierarchicalClassifier(tree, **params).fit(X, np.concatenate([y, yb[:2]]))  # type: ignore[arg-type]


def test_prototypes_carry_a_leaf_with_two_labels_until_it_has_enough(tree: Tree) -> None:
    blended, head_only = rare_b2_model(tree, min_labels=5), rare_b2_model(tree, min_labels=0)
    assert leaf_trust(blended).tolist() == pytest.approx([1.0, 1.0, 1.0, 0.4])
    X, y = clustered(tree, 100, seed=8, leaf_p=np.array([0, 0, 0, 1.0]))
    p_blended, p_head = blended.predict_proba(X)[:, 3], head_only.predict_proba(X)[:, 3]
    assert accuracy(tree, blended.predict_proba(X), y) > 0.9
    assert p_blended.mean() > p_head.mean()


def test_leaves_with_enough_labels_are_scored_by_the_head_alone(tree: Tree) -> None:
    X, y = clustered(tree, 120, seed=0)
    params = small_model_params()
    blended = HierarchicalClassifier(tree, min_labels_for_head=5, **params).fit(X, y)  # type: ignore[arg-type]
    head_only = HierarchicalClassifier(tree, min_labels_for_head=0, **params).fit(X, y)  # type: ignore[arg-type]
    assert np.array_equal(blended.predict_proba(X), head_only.predict_proba(X))


def test_novelty_is_the_distance_to_the_nearest_labelled_prototype(tree: Tree) -> None:
    text = np.array([[1, 0, 0]] * 6 + [[0, 1, 0]] * 6, dtype=np.float32)
    y = np.array([tree.index_of("A > a1")] * 6 + [tree.index_of("B > b1")] * 6)
    model = HierarchicalClassifier(tree, modalities=("text",), max_epochs=1).fit({"text": text}, y)
    items = np.array([[0, 0, 2], [3, 3, 0], [1, 0, 0]], dtype=np.float32)
    assert model.novelty({"text": items}).tolist() == pytest.approx(
        [1.0, 1 - 1 / math.sqrt(2), 0.0]
    )


def test_novelty_averages_the_modalities_an_item_has(tree: Tree) -> None:
    X = {
        "text": np.array([[1, 0, 0]] * 4 + [[0, 1, 0]] * 4, dtype=np.float32),
        "image": np.array([[1, 0]] * 4 + [[0, 1]] * 4, dtype=np.float32),
    }
    y = np.array([tree.index_of("A > a1")] * 4 + [tree.index_of("B > b1")] * 4)
    model = HierarchicalClassifier(tree, max_epochs=1).fit(X, y)
    item = {
        "text": np.array([[1, 0, 0]] * 2, np.float32),
        "image": np.array([[1, 1], [np.nan, np.nan]], np.float32),
    }
    assert model.novelty(item).tolist() == pytest.approx(
        [(1 - 1 / math.sqrt(2)) / 2, 0.0], abs=1e-6
    )


def test_a_far_away_item_is_more_novel_than_one_from_a_known_cluster(tree: Tree) -> None:
    X, y = clustered(tree, 200, seed=0)
    model = HierarchicalClassifier(tree, **small_model_params()).fit(X, y)  # type: ignore[arg-type]
    known, _ = clustered(tree, 50, seed=9)
    # Orthogonal to every leaf centre: about 90 degrees from every prototype.
    far = {m: np.linalg.svd(c)[2][-1][None].astype(np.float32) for m, c in centres().items()}
    assert model.novelty(far)[0] > 0.8
    assert model.novelty(far)[0] > 2 * model.novelty(known).max()


def test_without_labels_novelty_measures_distance_to_the_category_names(tree: Tree) -> None:
    X, _ = clustered(tree, 5)
    model = HierarchicalClassifier(tree).fit(X, np.array([]), zero_shot=name_embeddings())
    assert model.novelty({"text": name_embeddings()}).tolist() == pytest.approx([0.0] * 4, abs=1e-6)


def test_prototypes_do_not_depend_on_the_order_of_the_rows() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0], [2.0, 0.0]])
    protos, counts = prototypes(x, np.array([1, 0, 1, 0]), n_leaves=2)
    # Leaf 0: [0, 1] + [1, 0]; leaf 1: [1, 0] + [0, 1]: both [1, 1] / √2.
    assert protos.ravel().tolist() == pytest.approx([1 / math.sqrt(2)] * 4)
    assert counts.tolist() == [2, 2]
