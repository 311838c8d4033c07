"""The hierarchical loss, its tree distances and the class weights, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from classifier.model.losses import (
    class_weights,
    hierarchical_loss,
    node_leaf_distance,
    node_log_mask,
)
from classifier.tree import Tree


def loss_of(tree: Tree, logits: list[float], label: int, tree_weight: float = 0.2) -> float:
    return float(
        hierarchical_loss(
            torch.tensor([logits]),
            torch.tensor([label]),
            torch.from_numpy(node_log_mask(tree)),
            torch.from_numpy(node_leaf_distance(tree)),
            tree_weight,
        )
    )


def test_it_charges_a_sibling_swap_less_than_a_cousin_jump(tree: Tree) -> None:
    a1 = tree.index_of("A > a1")
    sibling = loss_of(tree, [0.0, 2.0, 0.0, 0.0], a1)  # confident on a2
    cousin = loss_of(tree, [0.0, 0.0, 2.0, 0.0], a1)  # equally confident on b1
    z = 3 + math.e**2
    # Distances are divided by the largest leaf distance (4): sibling 0.5, cousin 1.
    assert sibling == pytest.approx(math.log(z) + 0.2 * (0.5 * math.e**2 + 2) / z, rel=1e-6)
    assert cousin == pytest.approx(math.log(z) + 0.2 * (0.5 + math.e**2 + 1) / z, rel=1e-6)
    assert sibling < cousin


def test_it_scores_an_inner_node_label_by_the_sum_of_its_leaves(tree: Tree) -> None:
    logits = [1.0, 0.0, 0.5, -1.0]
    p = np.exp(logits) / np.exp(logits).sum()
    loss = loss_of(tree, logits, tree.index_of("A"), tree_weight=0.0)
    assert loss == pytest.approx(-math.log(p[0] + p[1]), rel=1e-6)


def test_it_only_charges_distance_for_mass_outside_an_inner_label(tree: Tree) -> None:
    logits = [1.0, 0.0, 0.5, -1.0]
    p = np.exp(logits) / np.exp(logits).sum()
    with_tree = loss_of(tree, logits, tree.index_of("A"), tree_weight=1.0)
    # b1 and b2 are 4 edges from the nearest leaf of A (normalised to 1); a1, a2 are inside.
    assert with_tree == pytest.approx(-math.log(p[0] + p[1]) + p[2] + p[3], rel=1e-6)


def test_it_measures_node_distance_to_the_nearest_leaf_below_the_node() -> None:
    tree = Tree.from_paths([["A", "a1", "x"], ["A", "a2"], ["B"]])
    dist = node_leaf_distance(tree, normalise=False)
    # Leaves: A>a1>x, A>a2, B. From B to the nearest leaf under A (a2): B→root→A→a2 = 3.
    assert dist[tree.index_of("A")].tolist() == [0, 0, 3]
    assert dist[tree.index_of("A > a1")].tolist() == [0, 3, 4]
    assert np.array_equal(dist[tree.leaves], tree.leaf_distance())


def test_it_weights_classes_by_an_inverse_power_of_their_count() -> None:
    w = class_weights(np.array([100, 1, 0]), power=0.5)
    # Raw 100**-0.5 = 0.1 and 1, scaled so that sum(count * w) = 101.
    scale = 101 / (100 * 0.1 + 1 * 1.0)
    assert w == pytest.approx([0.1 * scale, scale, 0.0], rel=1e-6)
    assert class_weights(np.array([3, 7]), power=0.0) == pytest.approx([1.0, 1.0])


def test_full_class_balance_gives_every_class_the_same_total_weight() -> None:
    # Raw weights 1/6 and 1/2 (total 1 each), scaled so that sum(count * w) = 8: × 4.
    w = class_weights(np.array([6, 2]), power=1.0)
    assert w == pytest.approx([4 / 6, 2.0], rel=1e-6)
