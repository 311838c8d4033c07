"""classifier.splits: duplicate groups and the held-out split that keeps them whole."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.splits import (
    duplicate_groups,
    group_units,
    holdout_mask,
    normalise_title,
    stable_unit,
    title_leakage,
)


def test_titles_are_normalised_for_case_punctuation_and_spaces() -> None:
    assert normalise_title("  Blue-Shirt,  SLIM fit! ") == "blue shirt slim fit"


def test_titles_and_identical_vectors_join_groups_transitively() -> None:
    titles = ["Blue shirt", "blue-shirt", "Red scarf", "Watch", "Sandals"]
    vectors = np.array([[1.0, 0], [2, 0], [2, 0], [np.nan, 0], [np.nan, 0]])
    # 0-1 by title, 1-2 by vector: one group; the NaN rows stay apart.
    assert duplicate_groups(titles=titles, vectors=vectors).tolist() == [0, 0, 0, 1, 2]
    assert duplicate_groups(titles=titles).tolist() == [0, 0, 1, 2, 3]


def test_a_chain_of_duplicates_is_one_group() -> None:
    titles = [f"t{i // 2}" for i in range(10)]  # pairs by title ...
    vectors = np.array([[float((i + 1) // 2)] for i in range(10)])  # ... pairs shifted by one
    assert duplicate_groups(titles=titles, vectors=vectors).tolist() == [0] * 10


def test_duplicate_groups_needs_an_input_of_one_length() -> None:
    with pytest.raises(ValueError):
        duplicate_groups()
    with pytest.raises(ValueError):
        duplicate_groups(titles=["a", "b"], vectors=np.zeros((3, 2)))


def test_a_groups_unit_is_the_hash_of_its_smallest_key() -> None:
    groups = np.array([0, 1, 0, 1])
    units = group_units(groups, ["b", "c", "a", "d"], salt=7)
    expected = stable_unit(["a", "c"], 7)
    np.testing.assert_array_equal(units, expected[[0, 1, 0, 1]])
    assert stable_unit(["a"], 7)[0] != stable_unit(["a"], 8)[0]


def test_identical_titles_never_straddle_the_split() -> None:
    rng = np.random.default_rng(0)
    titles = [f"title {k}" for k in rng.integers(0, 300, size=2000)]
    labels = rng.integers(0, 12, size=2000)
    groups = duplicate_groups(titles=titles)
    held = holdout_mask(labels, groups, group_units(groups, titles, 1), 0.2)
    assert title_leakage(titles, held) == 0.0
    assert 0.1 < held.mean() < 0.3


def test_per_label_one_group_trains_and_two_groups_split_one_one() -> None:
    labels, groups = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 2])
    units = np.array([0.01, 0.01, 0.5, 0.6])
    # label 0: one group (two identical titles) trains, though its unit is below 0.2;
    # label 1: two groups above 0.2, so the smaller unit is held out.
    assert holdout_mask(labels, groups, units, 0.2).tolist() == [False, False, True, False]
    assert holdout_mask(labels, groups, units, 0.99).tolist() == [False, False, True, False]


def test_an_always_row_holds_out_its_whole_group() -> None:
    labels, groups = np.zeros(4, int), np.array([0, 0, 1, 2])
    always = np.array([True, False, False, False])
    held = holdout_mask(labels, groups, np.array([0.9, 0.9, 0.8, 0.7]), 0.0, always=always)
    assert held.tolist() == [True, True, False, False]


def test_title_leakage_is_the_share_of_held_out_rows_whose_title_trains() -> None:
    titles = ["a", "A!", "b", "c", "c"]
    held = np.array([True, False, True, True, False])
    assert title_leakage(titles, held) == pytest.approx(2 / 3)  # "a" and "c" seen, "b" not
    assert title_leakage(titles, np.zeros(5, bool)) == 0.0
