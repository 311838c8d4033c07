"""Accuracy and macro-F1 per depth and hierarchical P/R/F1 on five hand-checked items.

Items (true -> predicted), with the augmented sets (node and its ancestors):
  1. Shirts  {Apparel, Topwear, Shirts}      -> Tshirts  {Apparel, Topwear, Tshirts}
  2. Jeans   {Apparel, Bottomwear, Jeans}    -> Sneakers {Footwear, Shoes, Sneakers}
  3. Watches {Accessories, Watches}          -> Watches
  4. Sneakers {Footwear, Shoes, Sneakers}    -> Shoes (rolled up) {Footwear, Shoes}
  5. Shirts                                  -> abstain (-1), the empty set
"""

from __future__ import annotations

import numpy as np
import pytest

from classifier.metrics import (
    accuracy_by_depth,
    ancestor_table,
    hierarchical_prf,
    macro_f1_by_depth,
)
from classifier.tree import Tree


def items(tree: Tree) -> tuple[list[int], list[int]]:
    n = {name: tree.names.index(name) for name in tree.names}
    y_true = [n["Shirts"], n["Jeans"], n["Watches"], n["Sneakers"], n["Shirts"]]
    y_pred = [n["Tshirts"], n["Sneakers"], n["Watches"], n["Shoes"], -1]
    return y_true, y_pred


def test_hierarchical_precision_recall_and_f1(tree: Tree) -> None:
    # |T & P| = 2 + 0 + 2 + 2 + 0 = 6;  sum |P| = 3 + 3 + 2 + 2 + 0 = 10;
    # sum |T| = 3 + 3 + 2 + 3 + 3 = 14.  hP = 6/10, hR = 6/14 = 0.428571,
    # hF = 2 * 0.6 * 0.428571 / (0.6 + 0.428571) = 0.514286 / 1.028571 = 0.5
    hp, hr, hf = hierarchical_prf(tree, *items(tree))
    assert (hp, hr, hf) == pytest.approx((0.6, 6 / 14, 0.5))


def test_a_perfect_prediction_scores_one_and_an_abstain_only_lowers_recall(tree: Tree) -> None:
    y_true, _ = items(tree)
    assert hierarchical_prf(tree, y_true, y_true) == pytest.approx((1.0, 1.0, 1.0))
    # one hit (Shirts, 3 nodes) and one abstain: hP = 3/3, hR = 3/6, hF = 2/3
    assert hierarchical_prf(tree, y_true[:2], [y_true[0], -1]) == pytest.approx((1, 0.5, 2 / 3))


def test_all_abstains_give_zero_not_a_division_error(tree: Tree) -> None:
    assert hierarchical_prf(tree, [2, 5], [-1, -1]) == (0.0, 0.0, 0.0)


def test_accuracy_by_depth(tree: Tree) -> None:
    # depth 1: Apparel/Apparel ok, Apparel/Footwear, Accessories ok, Footwear ok, abstain: 3/5
    # depth 2: Topwear ok, Bottomwear/Shoes, Watches ok, Shoes ok, abstain: 3/5
    # depth 3: Watches has no depth-3 node (left out); Shirts/Tshirts, Jeans/Sneakers,
    #          Sneakers/(Shoes is too shallow), Shirts/abstain: 0/4
    assert accuracy_by_depth(tree, *items(tree)) == pytest.approx({1: 0.6, 2: 0.6, 3: 0.0})


def test_macro_f1_by_depth_over_the_classes_in_the_truth(tree: Tree) -> None:
    # depth 1: Apparel  2*1/(3 true + 1 pred) = 0.5; Accessories 2*1/(1+1) = 1;
    #          Footwear 2*1/(1 + 2) = 0.6667 -> mean 0.72222
    # depth 2: Topwear 2*1/(2+1) = 0.6667; Bottomwear 0 (never predicted); Watches 1;
    #          Shoes 2*1/(1+2) = 0.6667 -> mean 2.3333 / 4 = 0.58333
    # depth 3: Shirts, Jeans, Sneakers: no hit -> 0 (Tshirts, only predicted, is not a class)
    result = macro_f1_by_depth(tree, *items(tree))
    assert result == pytest.approx({1: 0.72222, 2: 0.58333, 3: 0.0}, abs=1e-5)


def test_a_depth_no_true_node_reaches_is_left_out(tree: Tree) -> None:
    watches, accessories = tree.names.index("Watches"), tree.names.index("Accessories")
    assert accuracy_by_depth(tree, [watches, accessories], [watches, watches]) == {1: 1.0, 2: 1.0}


def test_the_ancestor_table_maps_every_node_to_its_ancestor_per_depth(tree: Tree) -> None:
    table = ancestor_table(tree)
    shirts, watches = tree.names.index("Shirts"), tree.names.index("Watches")
    assert table[:, shirts].tolist() == [0, 1, 2]  # Apparel, Topwear, Shirts
    assert table[:, watches].tolist() == [9, 10, -1]
    assert table[:, -1].tolist() == [-1, -1, -1]  # the abstain column


def test_it_refuses_unknown_nodes_abstaining_truth_and_empty_input(tree: Tree) -> None:
    with pytest.raises(ValueError, match="y_pred_node holds node 11; the tree has 11 nodes"):
        hierarchical_prf(tree, [2], [11])
    with pytest.raises(ValueError, match=r"y_true_node must be >= 0, got -1"):
        accuracy_by_depth(tree, [-1], [2])
    with pytest.raises(ValueError, match="y_true_node is empty: a metric needs at least one"):
        macro_f1_by_depth(tree, np.array([], dtype=int), np.array([], dtype=int))
