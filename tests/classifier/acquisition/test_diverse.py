"""Diversified batches: a cluster of copies does not fill a review batch."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.acquisition import DiverseBatch, Margin, Novelty, RandomSampling


def duplicates_first_pool() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 exact copies (rows 0-9, the most uncertain) and 10 distinct items (rows 10-19).

    Returns proba ``(20, 2)``, embeddings ``(20, 20)`` and the row indices of the copies.
    """
    proba = np.empty((20, 2))
    proba[:10] = [0.51, 0.49]  # margin 0.02: top of any uncertainty ranking
    proba[10:, 0] = np.linspace(0.6, 0.95, 10)
    proba[10:, 1] = 1 - proba[10:, 0]
    embeddings = np.eye(20)
    embeddings[:10] = embeddings[0]
    return proba, embeddings, np.arange(10)


def test_a_batch_of_five_holds_at_most_one_of_ten_exact_copies() -> None:
    proba, embeddings, copies = duplicates_first_pool()
    plain = Margin().select(proba, np.arange(20), 5)
    assert set(plain.tolist()) <= set(copies.tolist())  # without diversity: five copies
    batch = DiverseBatch(Margin(), embeddings).select(proba, np.arange(20), 5)
    assert len(batch) == 5
    assert len(set(batch.tolist()) & set(copies.tolist())) == 1
    assert len({tuple(embeddings[i]) for i in batch}) == 5


def test_it_looks_past_a_pool_filled_with_copies() -> None:
    proba, embeddings, copies = duplicates_first_pool()
    # pool_factor 1: the first pool is the five best, all copies; it must grow
    batch = DiverseBatch(Margin(), embeddings, pool_factor=1).select(proba, np.arange(20), 5)
    assert len(set(batch.tolist()) & set(copies.tolist())) == 1


def test_it_starts_with_the_base_strategys_best_item() -> None:
    proba, embeddings, _ = duplicates_first_pool()
    assert DiverseBatch(Margin(), embeddings).select(proba, np.arange(20), 3)[0] == 0


def test_a_copy_never_beats_a_distinct_item_even_with_zero_weight() -> None:
    embeddings = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    novelty = np.array([0.9, 0.8, 0.1, 0.5])  # row 2, the least novel, gets weight 0
    strategy = DiverseBatch(Novelty(), embeddings, score_weight=1.0)
    assert strategy.select(novelty, [0, 1, 2, 3], 3).tolist() == [0, 3, 2]


def test_copies_fill_the_batch_only_when_nothing_else_is_left() -> None:
    embeddings = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])  # 0, 1, 2 alike
    novelty = np.array([0.9, 0.8, 0.7, 0.1])
    batch = DiverseBatch(Novelty(), embeddings).select(novelty, [0, 1, 2, 3], 3)
    assert batch.tolist() == [0, 3, 1]  # after 0 and 3, copies in the base order


def test_score_weight_zero_is_pure_farthest_point() -> None:
    angles = np.deg2rad([0, 10, 90, 170, 180])
    embeddings = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    novelty = np.array([0.5, 0.9, 0.8, 0.7, 0.6])  # base order: 1, 2, 3, 4, 0
    batch = DiverseBatch(Novelty(), embeddings, score_weight=0.0).select(novelty, range(5), 3)
    # start at 10 degrees; farthest from it is 180 (170 degrees away); then 90 degrees
    assert batch.tolist() == [1, 4, 2]


def test_last_scores_are_the_base_strategys_scores() -> None:
    proba, embeddings, _ = duplicates_first_pool()
    strategy = DiverseBatch(Margin(), embeddings)
    strategy.select(proba, np.arange(20), 5)
    np.testing.assert_allclose(strategy.last_scores_, 1 - np.abs(proba[:, 0] - proba[:, 1]))


def test_it_needs_an_input_only_when_its_base_strategy_does() -> None:
    assert not DiverseBatch(RandomSampling(), np.eye(3)).needs_input
    assert DiverseBatch(Margin(), np.eye(3)).needs_input


def test_it_refuses_bad_parameters_and_embeddings() -> None:
    proba, embeddings, _ = duplicates_first_pool()
    with pytest.raises(ValueError, match="pool_factor must be an integer >= 1, got 0"):
        DiverseBatch(Margin(), embeddings, pool_factor=0).select(proba, [0], 1)
    with pytest.raises(ValueError, match=r"score_weight must be in \[0, 1\], got 1.5"):
        DiverseBatch(Margin(), embeddings, score_weight=1.5).select(proba, [0], 1)
    with pytest.raises(ValueError, match="candidate 19 is out of range for an input with 5"):
        DiverseBatch(Margin(), embeddings[:5]).select(proba, [0, 19], 1)
    nan_embeddings = embeddings.copy()
    nan_embeddings[0, 0] = np.nan
    with pytest.raises(ValueError, match="embeddings contains NaN"):
        DiverseBatch(Margin(), nan_embeddings).select(proba, [0, 1], 1)
