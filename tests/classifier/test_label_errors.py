"""Confident learning, checked against numbers worked out by hand.

The worked example: three classes, nine items, three per given label. Probabilities are
multiples of 1/8 so every comparison is exact.

    row label  p0     p1     p2     confidently
    0   0      .75    .125   .125   0
    1   0      .5     .25    .25    0
    2   0      .125   .75    .125   1     (labelled 0, looks like 1)
    3   1      .25    .5     .25    1
    4   1      .125   .375   .5     2     (labelled 1, looks like 2)
    5   1      .375   .375   .25    none  (below every threshold)
    6   2      .125   .125   .75    2
    7   2      .25    .25    .5     2
    8   2      .625   .25    .125   0     (labelled 2, looks like 0)

t0 = (.75 + .5 + .125) / 3 = .4583, t1 = (.5 + .375 + .375) / 3 = .4167, t2 = .4583.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from classifier import label_errors as le
from classifier.tree import Tree
from tests.classifier.model._data import clustered, small_model_params, two_level_tree

LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
PROBA = np.array(
    [
        [0.75, 0.125, 0.125],
        [0.5, 0.25, 0.25],
        [0.125, 0.75, 0.125],
        [0.25, 0.5, 0.25],
        [0.125, 0.375, 0.5],
        [0.375, 0.375, 0.25],
        [0.125, 0.125, 0.75],
        [0.25, 0.25, 0.5],
        [0.625, 0.25, 0.125],
    ]
)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """As in tests/classifier/model: on a shared 2-core machine a second torch thread made the
    tiny fits ten times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_thresholds_are_the_mean_probability_of_each_class_over_its_own_labels():
    assert np.allclose(le.per_class_thresholds(LABELS, PROBA), [1.375 / 3, 1.25 / 3, 1.375 / 3])


def test_a_class_nobody_labelled_is_never_confident():
    thresholds = le.per_class_thresholds(np.array([0, 0, 1]), np.full((3, 3), 1 / 3))
    assert thresholds[2] == np.inf


def test_each_item_is_counted_at_its_most_probable_class_above_threshold():
    thresholds = le.per_class_thresholds(LABELS, PROBA)
    confident = le.confident_classes(PROBA, thresholds)
    assert confident.tolist() == [0, 0, 1, 1, 2, -1, 2, 2, 0]


def test_the_confident_joint_counts_given_against_confident_class():
    expected = [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    assert le.confident_joint(LABELS, PROBA).tolist() == expected


def test_calibration_scales_each_row_to_its_label_count():
    joint = le.confident_joint(LABELS, PROBA)
    calibrated = le.calibrated_joint(joint, np.array([3, 3, 3]))
    # Row 1 counted two of its three items (row 5 was above no threshold): 1 and 1 -> 1.5 each.
    assert np.allclose(calibrated, [[2, 1, 0], [0, 1.5, 1.5], [1, 0, 2]])


def test_a_row_without_confident_items_keeps_its_count_on_the_diagonal():
    calibrated = le.calibrated_joint(np.array([[0, 0], [1, 1]]), np.array([4, 2]))
    assert calibrated.tolist() == [[4.0, 0.0], [1.0, 1.0]]


def test_prune_by_noise_rate_takes_the_largest_margins_per_off_diagonal_cell():
    # (0,1): one item labelled 0 by p1 - p0 -> row 2; (1,2): round(1.5) = 2 items labelled 1 by
    # p2 - p1 (.125 row 4, -.125 row 5, -.25 row 3) -> rows 4, 5; (2,0): one by p0 - p2 -> row 8.
    assert np.flatnonzero(le.prune_by_noise_rate(LABELS, PROBA)).tolist() == [2, 4, 5, 8]


def test_both_keeps_only_the_pruned_items_that_are_confidently_another_class():
    issues = le.label_issues(LABELS, PROBA, filter_by="both")
    # Row 5 is pruned by noise rate but above no threshold, so "both" leaves it.
    assert sorted(issues.index.tolist()) == [2, 4, 8]


def test_flags_are_ranked_by_self_confidence_with_their_evidence():
    issues = le.label_issues(LABELS, PROBA, filter_by="prune_by_noise_rate")
    # p_given: row 2 .125, row 8 .125 (tie: earlier row first), row 4 .375, row 5 .375.
    assert issues.index.tolist() == [2, 8, 4, 5]
    assert issues.given.tolist() == [0, 2, 1, 1]
    assert issues.suggested.tolist() == [1, 0, 2, 0]
    assert issues.p_given.tolist() == [0.125, 0.125, 0.375, 0.375]
    assert issues.p_suggested.tolist() == [0.75, 0.625, 0.5, 0.375]
    assert issues.score.tolist() == issues.p_given.tolist()


def test_normalised_margin_ranks_a_spread_out_item_after_a_contradicted_one():
    labels, proba = np.array([0, 0]), np.array([[0.2, 0.8, 0.0], [0.1, 0.45, 0.45]])
    assert np.allclose(le.label_quality(labels, proba), [0.2, 0.1])
    margin = le.label_quality(labels, proba, rank_by="normalized_margin")
    assert np.allclose(margin, [(0.2 - 0.8 + 1) / 2, (0.1 - 0.45 + 1) / 2])


def test_records_give_one_plain_dict_per_flag_in_rank_order():
    records = le.label_issues(LABELS, PROBA).records()
    assert records[0] == {
        "index": 2,
        "given": 0,
        "suggested": 1,
        "p_given": 0.125,
        "p_suggested": 0.75,
        "score": 0.125,
    }
    assert [r["index"] for r in records] == [2, 8, 4]


def test_a_negative_label_is_skipped():
    labels = LABELS.copy()
    labels[2] = -1  # a partial label: no leaf column
    issues = le.label_issues(labels, PROBA)
    assert 2 not in issues.index.tolist()
    assert np.isnan(le.label_quality(labels, PROBA)[2])
    assert le.per_class_thresholds(labels, PROBA)[0] == pytest.approx(1.25 / 2)


def test_items_of_a_class_smaller_than_min_class_size_are_not_flagged():
    issues = le.label_issues(LABELS, PROBA, min_class_size=4)
    assert len(issues) == 0


def test_it_rejects_an_unknown_filter_and_mismatched_shapes():
    with pytest.raises(ValueError, match="filter_by must be one of"):
        le.label_issues(LABELS, PROBA, filter_by="prune")
    with pytest.raises(ValueError, match="one row per label"):
        le.label_issues(LABELS[:5], PROBA)
    with pytest.raises(ValueError, match="leaf columns below k=3"):
        le.label_issues(np.array([0, 3]), PROBA[:2])


@pytest.mark.usefixtures("one_torch_thread")
def test_out_of_fold_probabilities_catch_a_flipped_label_on_toy_clusters():
    tree: Tree = two_level_tree()
    X, y = clustered(tree, 160, seed=3, image_missing=0.0, noise=0.3)
    wrong = 7
    y = y.copy()
    true_col = int(tree.leaf_index[y[wrong]])
    y[wrong] = tree.leaves[(true_col + 1) % tree.n_leaves]
    params = {**small_model_params(), "calibration_folds": 0}
    folds: list[tuple[int, int]] = []
    proba = le.out_of_fold_proba(
        tree, X, y, n_folds=4, params=params, progress=lambda *done: folds.append(done)
    )
    assert folds == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert proba.shape == (160, 4)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    issues = le.label_issues(tree.leaf_index[y], proba)
    assert issues.index[0] == wrong
    assert issues.suggested[0] == true_col


def test_out_of_fold_needs_as_many_groups_as_folds():
    tree = two_level_tree()
    X, y = clustered(tree, 3, seed=0)
    with pytest.raises(ValueError, match="at least 5 groups"):
        le.out_of_fold_proba(tree, X, y)
