"""Validation split and duplicate grouping of the training loop."""

from __future__ import annotations

import numpy as np

from classifier.model.training import group_folds, row_groups, validation_split


def test_identical_rows_share_a_group() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [np.nan, 0.0]], dtype=np.float32)
    groups = row_groups(x).tolist()
    assert groups[0] == groups[2]
    assert len(set(groups)) == 3


def test_rows_missing_the_modality_are_not_one_group() -> None:
    # NaN rows (no embedding for this modality) are not duplicates of each other, nor of a
    # zero row: nan_to_num once put every one of them in a single group.
    x = np.array([[np.nan, np.nan], [np.nan, np.nan], [0.0, 0.0], [0.0, -0.0]])
    assert row_groups(x).tolist() == [0, 1, 2, 2]


def test_the_split_holds_out_a_share_of_each_labels_groups_and_keeps_groups_whole() -> None:
    y = np.array([1] * 10 + [2] + [4] * 6)
    groups = np.array(list(range(10)) + [10] + [11, 11, 12, 12, 13, 14])
    train, val = validation_split(y, groups, fraction=0.5, seed=0)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(17))
    assert np.bincount(y[val], minlength=5).tolist() == [0, 5, 0, 0, val.size - 5]
    assert 10 in train  # the only group of label 2 stays in training
    assert len({int(g) for g in groups[val] if g >= 11} & {int(g) for g in groups[train]}) == 0
    assert len(set(groups[val][y[val] == 4].tolist())) == 2  # half of label 4's four groups


def test_the_split_depends_only_on_the_seed() -> None:
    y, groups = np.repeat([1, 2], 20), np.arange(40)
    assert np.array_equal(
        validation_split(y, groups, 0.25, 3)[1], validation_split(y, groups, 0.25, 3)[1]
    )
    assert not np.array_equal(
        validation_split(y, groups, 0.25, 3)[1], validation_split(y, groups, 0.25, 4)[1]
    )


def test_epochs_are_raised_so_a_few_labels_still_get_the_minimum_steps() -> None:
    from classifier.model.training import epochs_for

    assert epochs_for(500, 256, 60, 300) == 150  # 2 batches an epoch
    assert epochs_for(100, 256, 60, 300) == 300  # 1 batch an epoch
    assert epochs_for(10_000, 256, 60, 300) == 60  # 40 batches an epoch: the cap already does


def test_epochs_are_lowered_to_the_step_budget_in_whole_epochs() -> None:
    from classifier.model.training import epochs_for

    # 100,000 rows are 391 batches of 256: 3,000 steps are 7.7 epochs, rounded up to 8.
    assert epochs_for(100_000, 256, 60, 300, max_steps=3000) == 8
    assert epochs_for(10_000, 256, 60, 300, max_steps=3000) == 60  # 2,400 steps: not binding
    assert epochs_for(100_000, 256, 60, 300, max_steps=10) == 1  # at least one epoch
    assert epochs_for(500, 256, 60, 300, max_steps=100) == 50  # the budget wins over the minimum


def test_the_step_budget_scales_with_the_leaves_and_caps_the_epochs() -> None:
    from classifier.model.estimator import HierarchicalClassifier
    from classifier.model.training import LEAF_STEP_BUDGET
    from classifier.tree import Tree

    wide = Tree.from_paths([["a", f"leaf {i}"] for i in range(5000)])
    narrow = Tree.from_paths([["a", "b"], ["a", "c"], ["d"]])
    assert HierarchicalClassifier(wide).step_budget() == LEAF_STEP_BUDGET // 5000 == 3000
    assert HierarchicalClassifier(narrow).step_budget() == LEAF_STEP_BUDGET // 3
    assert HierarchicalClassifier(wide, max_steps=50).step_budget() == 50
    assert HierarchicalClassifier(wide, max_steps=0).step_budget() == 1
    assert HierarchicalClassifier(wide)._config(100_000).max_epochs == 8  # 391 steps an epoch
    assert HierarchicalClassifier(wide)._config(10_000).max_epochs == 60  # 40: not binding
    assert HierarchicalClassifier(narrow)._config(100_000).max_epochs == 60
    assert HierarchicalClassifier(wide)._config(100_000, epochs=5).max_epochs == 5  # the refit


def test_folds_keep_groups_whole_and_deal_groups_evenly() -> None:
    groups = np.array([0, 0, 1, 2, 2, 2, 3, 4, 5, 6])  # 7 groups over 3 folds: 3 + 2 + 2
    folds = group_folds(groups, 3, seed=0)
    assert folds is not None
    for g in range(7):
        assert len(set(folds[groups == g].tolist())) == 1
    per_fold = sorted(len(set(groups[folds == k].tolist())) for k in range(3))
    assert per_fold == [2, 2, 3]
    assert np.array_equal(group_folds(groups, 3, seed=0), folds)


def test_no_folds_below_two_or_with_fewer_groups_than_folds() -> None:
    groups = np.array([0, 0, 1, 2])
    assert group_folds(groups, 1, seed=0) is None
    assert group_folds(groups, 0, seed=0) is None
    assert group_folds(groups, 4, seed=0) is None
    assert group_folds(groups, 3, seed=0) is not None
