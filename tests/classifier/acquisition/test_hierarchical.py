"""Hierarchical margin: the gap between the two best siblings where the model hesitates.

Tree: A > {a1, a2}, B > {b1, b2}; nodes 0 A, 1 a1, 2 a2, 3 B, 4 b1, 5 b2; leaf columns
a1, a2, b1, b2.
"""

from __future__ import annotations

import numpy as np
import pytest

from classifier.acquisition import HierarchicalMargin, Margin, hierarchical_margin
from classifier.tree import Tree

A, A1, A2, B, B1, B2 = range(6)


def test_it_measures_the_margin_between_two_sibling_leaves_below_a_decided_parent(
    tree: Tree,
) -> None:
    proba = np.array([[0.45, 0.40, 0.10, 0.05]])  # A = 0.85 clears 0.5: deciding a1 or a2
    margins, pairs = hierarchical_margin(tree, proba)
    assert margins.tolist() == pytest.approx([0.05])  # 0.45 - 0.40
    assert pairs.tolist() == [[A1, A2]]


def test_it_stops_at_the_top_level_when_no_top_node_clears_the_threshold(tree: Tree) -> None:
    proba = np.array([[0.30, 0.25, 0.45, 0.00]])  # A = 0.55, B = 0.45
    margins, pairs = hierarchical_margin(tree, proba, thresholds=0.85)
    assert margins.tolist() == pytest.approx([0.10])  # A - B = 0.55 - 0.45
    assert pairs.tolist() == [[A, B]]


def test_it_takes_one_threshold_per_depth(tree: Tree) -> None:
    proba = np.array([[0.30, 0.25, 0.45, 0.00]])
    margins, pairs = hierarchical_margin(tree, proba, thresholds=[0.5, 0.9])
    # A = 0.55 clears 0.5, so the model is deciding between a1 and a2: 0.30 - 0.25
    assert margins.tolist() == pytest.approx([0.05])
    assert pairs.tolist() == [[A1, A2]]


def test_a_tie_at_one_half_is_not_a_decision(tree: Tree) -> None:
    proba = np.array([[0.30, 0.20, 0.25, 0.25]])  # A = B = 0.5: both "clear" 0.5
    margins, pairs = hierarchical_margin(tree, proba)
    assert margins.tolist() == [0.0]
    assert pairs.tolist() == [[A, B]]


def test_when_the_walk_reaches_a_leaf_the_pair_is_that_leaf_and_its_best_sibling(
    tree: Tree,
) -> None:
    proba = np.array([[0.02, 0.03, 0.90, 0.05]])  # B = 0.95, b1 = 0.90
    margins, pairs = hierarchical_margin(tree, proba)
    assert margins.tolist() == pytest.approx([0.85])  # 0.90 - 0.05
    assert pairs.tolist() == [[B1, B2]]


def test_an_only_child_has_no_runner_up() -> None:
    tree = Tree.from_paths([["A", "a1"], ["B"]])  # nodes 0 A, 1 a1, 2 B; leaves a1, B
    margins, pairs = hierarchical_margin(tree, np.array([[0.7, 0.3]]))
    # A (0.7) beats B and clears 0.5; a1 has no sibling, so the runner-up is 0
    assert margins.tolist() == pytest.approx([0.7])
    assert pairs.tolist() == [[1, -1]]


def test_it_picks_the_shirts_or_tshirts_item_a_human_would(tree: Tree) -> None:
    proba = np.array(
        [
            [0.90, 0.04, 0.03, 0.03],  # sure: a1
            [0.48, 0.47, 0.03, 0.02],  # sure it is an A, torn between a1 and a2
            [0.02, 0.03, 0.85, 0.10],  # fairly sure: b1
        ]
    )
    # hierarchical margins: 0.90 - 0.04 = 0.86; 0.48 - 0.47 = 0.01; 0.85 - 0.10 = 0.75
    strategy = HierarchicalMargin(tree)
    assert strategy.select(proba, [0, 1, 2], 3).tolist() == [1, 2, 0]
    assert strategy.last_scores_.tolist() == pytest.approx([0.14, 0.99, 0.25])
    assert strategy.last_pairs_.tolist() == [[A1, A2], [A1, A2], [B1, B2]]


def test_it_ranks_by_the_sibling_gap_where_a_flat_margin_compares_cousins(tree: Tree) -> None:
    proba = np.array(
        [
            [0.40, 0.00, 0.30, 0.30],  # B = 0.60 wins, then b1 and b2 tie
            [0.50, 0.45, 0.05, 0.00],  # A = 0.95 wins, then a1 beats a2 by 0.05
        ]
    )
    # flat margins: 0.40 - 0.30 = 0.10 (a1 vs b1, cousins) and 0.50 - 0.45 = 0.05
    assert Margin().select(proba, [0, 1], 1).tolist() == [1]
    # hierarchical margins: b1 - b2 = 0.00 and a1 - a2 = 0.05
    assert HierarchicalMargin(tree).select(proba, [0, 1], 1).tolist() == [0]


def test_it_refuses_probabilities_that_do_not_match_the_tree(tree: Tree) -> None:
    with pytest.raises(ValueError, match=r"proba must have 4 columns \(the tree's leaves\), got 3"):
        HierarchicalMargin(tree).select(np.full((1, 3), 1 / 3), [0], 1)
    with pytest.raises(ValueError, match=r"proba must have shape \(n, 4\)"):
        hierarchical_margin(tree, np.full((1, 3), 1 / 3))


def test_it_refuses_thresholds_for_the_wrong_number_of_depths(tree: Tree) -> None:
    with pytest.raises(ValueError, match="thresholds must be one float or 2 values"):
        hierarchical_margin(tree, np.full((1, 4), 0.25), thresholds=[0.5, 0.5, 0.5])
