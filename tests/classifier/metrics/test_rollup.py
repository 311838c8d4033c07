"""Roll-up decisions, coverage and error per depth on six hand-checked items.

Leaf columns: 0 Shirts, 1 Tshirts, 2 Jeans, 3 Sneakers, 4 Watches (Watches at depth 2).
With every threshold at 0.8:
  a. Shirts 0.85                          -> Shirts  (depth 3), true Shirts   right
  b. Shirts .45 + Tshirts .45: Topwear .9 -> Topwear (depth 2), true Tshirts  right
  c. Shirts .50 + Tshirts .40: Topwear .9 -> Topwear (depth 2), true Jeans    wrong
  d. spread out, Apparel only 0.6         -> abstain,           true Sneakers
  e. Watches 0.90                         -> Watches (depth 2), true Watches  right
  f. Sneakers 0.85                        -> Sneakers (depth 3), true Shirts  wrong
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.metrics import depth_thresholds, evaluate, rollup_decide, rollup_report
from classifier.tree import Tree

PROBA = np.array(
    [
        [0.85, 0.05, 0.05, 0.03, 0.02],
        [0.45, 0.45, 0.05, 0.03, 0.02],
        [0.50, 0.40, 0.05, 0.03, 0.02],
        [0.30, 0.10, 0.20, 0.30, 0.10],
        [0.02, 0.02, 0.02, 0.04, 0.90],
        [0.05, 0.05, 0.00, 0.85, 0.05],
    ]
)
TRUE = ["Shirts", "Tshirts", "Jeans", "Sneakers", "Watches", "Shirts"]


def nodes(tree: Tree, *names: str) -> list[int]:
    return [tree.names.index(n) if n else -1 for n in names]


def test_it_decides_the_deepest_node_that_clears_the_threshold(tree: Tree) -> None:
    expected = nodes(tree, "Shirts", "Topwear", "Topwear", "", "Watches", "Sneakers")
    assert rollup_decide(tree, PROBA, 0.8).tolist() == expected


def test_it_takes_one_threshold_per_depth(tree: Tree) -> None:
    # row b: no leaf clears 0.8, Topwear 0.9 < 0.95, Apparel 0.95 >= 0.5
    assert rollup_decide(tree, PROBA[1:2], [0.5, 0.95, 0.8]).tolist() == nodes(tree, "Apparel")
    # a threshold above 1 switches a depth off: row a then rolls up to Topwear (0.9)
    assert rollup_decide(tree, PROBA[:1], [0.8, 0.8, 1.1]).tolist() == nodes(tree, "Topwear")


def test_a_tie_at_the_same_depth_goes_to_the_lower_node_index(tree: Tree) -> None:
    proba = np.array([[0.5, 0.5, 0.0, 0.0, 0.0]])
    assert rollup_decide(tree, proba, 0.5).tolist() == nodes(tree, "Shirts")


def test_the_report_gives_coverage_and_error_per_depth_with_abstains(tree: Tree) -> None:
    report = rollup_report(tree, PROBA, nodes(tree, *TRUE), 0.8)
    # decided at depth 2: b, c, e (3 of 6); at depth 3: a, f (2 of 6); d abstains
    assert report["coverage_by_depth"] == pytest.approx({1: 0.0, 2: 0.5, 3: 1 / 3})
    # depth 2: c wrong of b, c, e; depth 3: f wrong of a, f; nothing decided at depth 1
    assert report["error_by_depth"] == pytest.approx({1: None, 2: 1 / 3, 3: 0.5})
    assert report["decided_share"] == pytest.approx(5 / 6)
    assert report["abstain_rate"] == pytest.approx(1 / 6)
    assert report["decision_error_rate"] == pytest.approx(2 / 5)
    assert report["leaf_share"] == pytest.approx(0.5)  # a, e (Watches is a leaf), f


def test_the_report_compares_wrong_answers_flat_and_rolled_up(tree: Tree) -> None:
    report = rollup_report(tree, PROBA, nodes(tree, *TRUE), 0.8)
    # flat argmax: a Shirts ok, b Shirts (tie, first column) vs Tshirts, c Shirts vs Jeans,
    # d Shirts (tie with Sneakers) vs Sneakers, e ok, f Sneakers vs Shirts: 4 of 6 wrong
    assert report["wrong_rate_flat"] == pytest.approx(4 / 6)
    assert report["wrong_rate_rollup"] == pytest.approx(2 / 6)  # c and f; d abstained
    assert report["wrong_reduction"] == pytest.approx(0.5)  # 1 - (2/6) / (4/6)
    assert report["thresholds"] == [0.8, 0.8, 0.8]


def test_the_report_scores_decisions_hierarchically(tree: Tree) -> None:
    report = rollup_report(tree, PROBA, nodes(tree, *TRUE), 0.8)
    # |T & P|: a 3, b 2, c 1 (Apparel), d 0, e 2, f 0 = 8
    # sum |P|: 3 + 2 + 2 + 0 + 2 + 3 = 12; sum |T|: 3 + 3 + 3 + 3 + 2 + 3 = 17
    assert report["hierarchical_precision"] == pytest.approx(8 / 12)
    assert report["hierarchical_recall"] == pytest.approx(8 / 17)


def test_a_decision_below_an_inner_node_label_is_not_counted_wrong(tree: Tree) -> None:
    # the reviewer was only sure of Topwear; the model says Shirts: it cannot be checked
    report = rollup_report(tree, PROBA[:1], nodes(tree, "Topwear"), 0.8)
    assert report["decision_error_rate"] == 0.0
    assert report["wrong_rate_flat"] == 0.0
    assert report["wrong_reduction"] is None  # nothing wrong flat: no reduction to speak of


def test_thresholds_are_checked(tree: Tree) -> None:
    assert depth_thresholds(tree, 0.85).tolist() == [0.85, 0.85, 0.85]
    with pytest.raises(ValueError, match="thresholds must be one float or 3 values"):
        depth_thresholds(tree, [0.5, 0.5])
    with pytest.raises(ValueError, match="thresholds must be finite and >= 0"):
        rollup_decide(tree, PROBA, -0.1)
    with pytest.raises(ValueError, match="proba must have 5 columns, got 4"):
        rollup_decide(tree, PROBA[:, :4], 0.8)
    with pytest.raises(ValueError, match="proba is empty: a metric needs at least one item"):
        rollup_report(tree, np.zeros((0, 5)), [], 0.8)


def test_evaluate_gathers_every_metric_in_a_json_ready_dict(tree: Tree) -> None:
    y_true = nodes(tree, *TRUE)
    result = evaluate(tree, PROBA, y_true, thresholds=0.8, ks=(1, 2))
    assert result["n_items"] == 6 and result["n_leaf_labels"] == 6
    assert result["leaf_accuracy"] == pytest.approx(2 / 6)  # argmax right for a and e
    # rank of the true column (ties: lower column first): a 0, b 1 (Shirts .45 first),
    # c 2, d 1 (Shirts .30 first), e 0, f 1 (Sneakers .85, then Shirts first of the .05s)
    assert result["recall_at_k"] == pytest.approx({1: 2 / 6, 2: 5 / 6})
    assert result["rollup"] == rollup_report(tree, PROBA, y_true, 0.8)
    # flat argmax leaves Shirts x4, Watches, Sneakers: |T & P| = 3 + 2 + 1 + 0 + 2 + 0 = 8,
    # sum |P| = 3 * 5 + 2 = 17 = sum |T|
    assert result["hierarchical_precision"] == pytest.approx(8 / 17)
    assert result["hierarchical_recall"] == pytest.approx(8 / 17)
    assert result["accuracy_by_depth"] == pytest.approx({1: 4 / 6, 2: 3 / 6, 3: 1 / 5})
    json.dumps(result)


def test_evaluate_leaves_leaf_metrics_to_leaf_labels(tree: Tree) -> None:
    topwear = nodes(tree, "Topwear")
    inner_only = evaluate(tree, PROBA[:2], topwear * 2)
    assert inner_only["n_leaf_labels"] == 0
    assert inner_only["leaf_accuracy"] is None and inner_only["ece"] is None
    assert inner_only["recall_at_k"] == {1: None, 3: None, 5: None}
    mixed = evaluate(tree, PROBA[:2], nodes(tree, "Shirts") + topwear)
    assert mixed["n_leaf_labels"] == 1 and mixed["leaf_accuracy"] == 1.0
