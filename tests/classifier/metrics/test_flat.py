"""Leaf accuracy, macro-F1, recall@k and confused pairs against hand-computed values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from classifier.metrics import confusion_pairs, leaf_accuracy, macro_f1, recall_at_k
from classifier.tree import Tree


def test_leaf_accuracy_counts_argmax_hits() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    # argmax 0, 1, 0, 2 against 0, 1, 2, 2: three of four
    assert leaf_accuracy([0, 1, 2, 2], proba) == 0.75


def test_leaf_accuracy_takes_predicted_columns_and_counts_an_abstain_as_wrong() -> None:
    assert leaf_accuracy([0, 1, 2, 2, 1], [0, 1, 2, -1, 0]) == pytest.approx(0.6)  # 3 / 5


def test_leaf_accuracy_breaks_a_tie_towards_the_first_column() -> None:
    assert leaf_accuracy([0, 1], np.array([[0.5, 0.5], [0.5, 0.5]])) == 0.5


def test_macro_f1_averages_over_the_classes_in_the_truth() -> None:
    y_true = [0, 0, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 3]  # class 2 never predicted, class 3 never true
    # class 0: tp 1, 2 true, 1 predicted -> 2*1 / (2 + 1) = 0.6667
    # class 1: tp 2, 2 true, 3 predicted -> 2*2 / (2 + 3) = 0.8
    # class 2: tp 0 -> 0; class 3 is not averaged in (only predicted)
    # (0.6667 + 0.8 + 0) / 3 = 0.48889
    assert macro_f1(y_true, y_pred) == pytest.approx(0.48889, abs=1e-5)


def test_macro_f1_over_a_fixed_class_list_counts_a_predicted_only_class_as_zero() -> None:
    # same counts as above, class 3 added with F1 0: (0.6667 + 0.8 + 0 + 0) / 4 = 0.36667
    assert macro_f1([0, 0, 1, 1, 2], [0, 1, 1, 1, 3], labels=[0, 1, 2, 3]) == pytest.approx(
        0.36667, abs=1e-5
    )
    # a class with no true and no predicted item scores 0: (1 + 0) / 2
    assert macro_f1([0, 0], [0, 0], labels=[0, 9]) == 0.5


def test_macro_f1_counts_an_abstain_as_a_miss_and_not_as_a_class() -> None:
    # class 0: tp 1, 2 true, 1 predicted -> 2 / 3; class 1: tp 1, 1 true, 1 predicted -> 1
    assert macro_f1([0, 0, 1], [0, -1, 1]) == pytest.approx((2 / 3 + 1) / 2)


def test_macro_f1_handles_large_sparse_class_ids() -> None:
    y_true = [10**9, 10**9, 5]
    y_pred = [10**9, 5, 5]
    # 10**9: tp 1, 2 true, 1 predicted -> 2/3; 5: tp 1, 1 true, 2 predicted -> 2/3
    assert macro_f1(y_true, y_pred) == pytest.approx(2 / 3)


def test_macro_f1_refuses_bad_labels() -> None:
    with pytest.raises(ValueError, match="labels must be classes >= 0, got -1"):
        macro_f1([0], [0], labels=[-1, 0])
    with pytest.raises(ValueError, match="labels must not repeat a class"):
        macro_f1([0], [0], labels=[0, 0])
    with pytest.raises(ValueError, match="labels must be a non-empty 1-D array"):
        macro_f1([0], [0], labels=[])


def test_recall_at_k_by_the_rank_of_the_true_column() -> None:
    proba = np.array(
        [
            [0.5, 0.3, 0.2],  # true 1: rank 1
            [0.2, 0.3, 0.5],  # true 0: rank 2
            [0.6, 0.3, 0.1],  # true 0: rank 0
            [0.4, 0.4, 0.2],  # true 1: tied with column 0, which comes first: rank 1
        ]
    )
    y = [1, 0, 0, 1]
    assert recall_at_k(proba, y, 1) == 0.25  # rank < 1: one item
    assert recall_at_k(proba, y, 2) == 0.75  # ranks 1, 0, 1
    assert recall_at_k(proba, y, 3) == 1.0
    assert recall_at_k(proba, y, 10) == 1.0
    assert recall_at_k(proba, y, 1) == leaf_accuracy(y, proba)


def test_recall_at_k_refuses_a_bad_k_and_an_unknown_column() -> None:
    proba = np.array([[0.5, 0.5]])
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        recall_at_k(proba, [0], 0)
    with pytest.raises(ValueError, match="y_true_leaf_col holds column 2; proba has 2 columns"):
        recall_at_k(proba, [2], 1)


def test_confusion_pairs_lists_the_most_frequent_leaf_mistakes(tree: Tree) -> None:
    shirts, tshirts, jeans, topwear = (
        tree.names.index(name) for name in ("Shirts", "Tshirts", "Jeans", "Topwear")
    )
    y_true = [shirts, shirts, tshirts, shirts, jeans, shirts, shirts]
    y_pred = [tshirts, tshirts, shirts, shirts, -1, topwear, tshirts]
    # Shirts -> Tshirts three times, Tshirts -> Shirts once; the abstain, the inner-node
    # prediction and the hit are left out
    assert confusion_pairs(tree, y_true, y_pred) == [(shirts, tshirts, 3), (tshirts, shirts, 1)]
    assert confusion_pairs(tree, y_true, y_pred, top=1) == [(shirts, tshirts, 3)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: leaf_accuracy([], []), "y_true_leaf_col is empty"),
        (lambda: macro_f1([], []), "y_true is empty"),
        (lambda: recall_at_k(np.zeros((0, 3)), [], 1), "proba is empty"),
    ],
)
def test_empty_input_is_refused_with_a_clear_message(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"{message}: a metric needs at least one item"):
        call()


def test_inputs_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="inputs must have the same length"):
        macro_f1([0, 1], [0])
    with pytest.raises(ValueError, match="y_pred must hold integer labels, got dtype float64"):
        macro_f1([0], [0.0])
