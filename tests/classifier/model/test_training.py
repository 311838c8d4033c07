"""Validation split and duplicate grouping of the training loop."""

from __future__ import annotations

import numpy as np

from classifier.model.training import row_groups, validation_split


def test_identical_rows_share_a_group() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [np.nan, 0.0]], dtype=np.float32)
    groups = row_groups(x).tolist()
    assert groups[0] == groups[2]
    assert len(set(groups)) == 3


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
