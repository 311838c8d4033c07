"""Random, least confidence, margin, entropy and novelty against hand-computed scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifier.acquisition import (
    STRATEGIES,
    Entropy,
    HierarchicalMargin,
    LeastConfidence,
    Margin,
    Novelty,
    RandomSampling,
    entropy,
    get_strategy,
    margin,
    top_confidence,
)
from classifier.tree import Tree

P = np.array([[0.5, 0.3, 0.2]])


def test_least_confidence_of_a_hand_made_row_is_one_minus_the_top_probability() -> None:
    strategy = LeastConfidence()
    strategy.select(P, [0], 1)
    assert strategy.last_scores_.tolist() == pytest.approx([0.5])  # 1 - 0.5


def test_margin_of_a_hand_made_row_is_the_gap_between_the_two_best() -> None:
    strategy = Margin()
    strategy.select(P, [0], 1)
    assert margin(P).tolist() == pytest.approx([0.2])  # 0.5 - 0.3
    assert strategy.last_scores_.tolist() == pytest.approx([0.8])  # score = 1 - margin


def test_entropy_of_a_hand_made_row_is_in_nats() -> None:
    strategy = Entropy()
    strategy.select(P, [0], 1)
    # -(0.5 ln 0.5 + 0.3 ln 0.3 + 0.2 ln 0.2) = 0.34657 + 0.36119 + 0.32189 = 1.02965
    assert strategy.last_scores_.tolist() == pytest.approx([1.02965], abs=1e-5)
    assert entropy(P).tolist() == pytest.approx([1.02965], abs=1e-5)


def test_a_certain_row_has_zero_entropy_and_full_margin() -> None:
    certain = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    assert entropy(certain).tolist() == pytest.approx([0.0, math.log(3)])  # 0 ln 0 = 0
    assert margin(certain).tolist() == pytest.approx([1.0, 0.0])
    assert top_confidence(certain).tolist() == pytest.approx([1.0, 1 / 3])


def test_with_one_class_the_runner_up_counts_as_zero() -> None:
    assert margin(np.array([[1.0]])).tolist() == [1.0]


def test_uncertainty_strategies_pick_the_item_a_human_would_call_unclear() -> None:
    pool = np.array(
        [
            [0.98, 0.01, 0.01],  # obviously class 0
            [0.34, 0.33, 0.33],  # anyone's guess
            [0.70, 0.20, 0.10],  # probably class 0
        ]
    )
    for strategy in (LeastConfidence(), Margin(), Entropy()):
        assert strategy.select(pool, [0, 1, 2], 3).tolist() == [1, 2, 0], strategy.name


def test_margin_and_least_confidence_disagree_on_a_two_way_tie() -> None:
    pool = np.array([[0.45, 0.45, 0.10], [0.40, 0.30, 0.30]])
    # least confidence: 1 - 0.45 = 0.55 < 1 - 0.40 = 0.60; margin: 0.00 < 0.10
    assert LeastConfidence().select(pool, [0, 1], 1).tolist() == [1]
    assert Margin().select(pool, [0, 1], 1).tolist() == [0]


def test_ties_keep_candidate_order() -> None:
    pool = np.full((4, 2), 0.5)
    assert Margin().select(pool, [3, 1, 2, 0], 4).tolist() == [3, 1, 2, 0]


def test_only_the_candidates_rows_are_checked() -> None:
    pool = np.array([[np.nan, np.nan], [0.6, 0.4]])
    assert LeastConfidence().select(pool, [1], 1).tolist() == [1]


def test_it_refuses_logits_and_negative_values() -> None:
    with pytest.raises(ValueError, match="must sum to 1 .*pass probabilities, not logits"):
        Margin().select(np.array([[2.0, 1.0]]), [0], 1)
    with pytest.raises(ValueError, match="contains negative values"):
        Entropy().select(np.array([[1.5, -0.5]]), [0], 1)
    with pytest.raises(ValueError, match="proba contains NaN or infinite values"):
        LeastConfidence().select(np.array([[np.nan, 1.0]]), [0], 1)


def test_it_refuses_input_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"proba must be 2-D, got shape \(3,\)"):
        Margin().select(np.array([0.2, 0.3, 0.5]), [0], 1)
    with pytest.raises(ValueError, match="proba is required, got None"):
        Margin().select(None, [0], 1)


def test_novelty_picks_the_most_novel_items() -> None:
    strategy = Novelty()
    assert strategy.select(np.array([0.1, 0.9, 0.5, 0.7]), [0, 1, 2, 3], 2).tolist() == [1, 3]
    assert strategy.last_scores_.tolist() == [0.1, 0.9, 0.5, 0.7]


def test_novelty_refuses_nan_scores_of_a_candidate() -> None:
    with pytest.raises(ValueError, match="novelty scores contains NaN"):
        Novelty().select(np.array([0.1, np.nan]), [0, 1], 1)


def test_random_sampling_needs_no_input_and_scores_in_the_unit_interval() -> None:
    strategy = RandomSampling(seed=1)
    chosen = strategy.select(None, np.arange(50), 10)
    assert len(set(chosen.tolist())) == 10
    assert strategy.last_scores_.min() >= 0.0 and strategy.last_scores_.max() < 1.0
    assert not RandomSampling.needs_input


def test_random_sampling_draws_new_batches_and_depends_on_the_seed() -> None:
    strategy = RandomSampling(seed=1)
    first = strategy.select(None, np.arange(100), 10).tolist()
    second = strategy.select(None, np.arange(100), 10).tolist()
    other_seed = RandomSampling(seed=2).select(None, np.arange(100), 10).tolist()
    assert first != second
    assert first != other_seed


def test_random_sampling_is_roughly_uniform() -> None:
    strategy = RandomSampling(seed=0)
    counts = np.zeros(10)
    for _ in range(2000):
        counts[strategy.select(None, np.arange(10), 1)] += 1
    # 200 expected per item; 5 standard deviations (sqrt(2000 * 0.1 * 0.9) = 13.4) = 67
    assert np.abs(counts - 200).max() < 67


def test_get_strategy_builds_every_strategy_by_name(tree: Tree) -> None:
    for name in STRATEGIES:
        kwargs = {"tree": tree} if name == "hierarchical_margin" else {}
        assert get_strategy(name, **kwargs).name == name
    assert isinstance(get_strategy("hierarchical_margin", tree=tree), HierarchicalMargin)


def test_get_strategy_lists_the_known_names_for_an_unknown_one() -> None:
    with pytest.raises(ValueError, match="unknown sampling strategy 'coin'; known: .*margin"):
        get_strategy("coin")
