"""One contract every sampling strategy keeps (CONVENTIONS.md: one base class reused).

A subclass says how to build its strategy (``make_strategy``) and its input over a pool
(``make_input``); the base class holds every test. Rows of items that are not candidates
(the labelled ones) hold NaN, so a strategy that peeks at them fails.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from classifier.acquisition import (
    ConsensusKL,
    DiverseBatch,
    Entropy,
    HierarchicalMargin,
    LeastConfidence,
    Margin,
    Novelty,
    QuotaMixer,
    RandomSampling,
    Strategy,
    VoteEntropy,
)
from classifier.tree import Tree

POOL = 30
LABELLED = np.array([0, 3, 7, 11, 12, 29])
N_LEAVES = 4


def proba(n_rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(N_LEAVES), size=n_rows)


def committee(n_rows: int) -> np.ndarray:
    return np.stack([proba(n_rows, seed) for seed in (1, 2, 3)])


def with_nan(data: Any, rows: np.ndarray) -> Any:
    """A copy of ``data`` with NaN in ``rows`` (the pool axis: 0, or 1 for a committee)."""
    if isinstance(data, dict):
        return {k: with_nan(v, rows) for k, v in data.items()}
    out = np.array(data, dtype=np.float64)
    if out.ndim == 3:
        out[:, rows] = np.nan
    else:
        out[rows] = np.nan
    return out


class StrategyContract:
    """The tests; subclasses named ``Test...`` run them for one strategy."""

    def make_strategy(self, n_rows: int) -> Strategy:
        raise NotImplementedError

    def make_input(self, n_rows: int) -> Any:
        return proba(n_rows)

    def candidates(self) -> np.ndarray:
        return np.setdiff1d(np.arange(POOL), LABELLED)

    def pool_input(self) -> Any:
        return with_nan(self.make_input(POOL), LABELLED)

    def test_it_returns_k_distinct_candidates_and_never_a_labelled_item(self) -> None:
        chosen = self.make_strategy(POOL).select(self.pool_input(), self.candidates(), 5)
        assert chosen.shape == (5,)
        assert chosen.dtype == np.int64
        assert len(set(chosen.tolist())) == 5
        assert set(chosen.tolist()) <= set(self.candidates().tolist())
        assert not set(chosen.tolist()) & set(LABELLED.tolist())

    def test_it_returns_every_candidate_once_when_k_exceeds_the_pool(self) -> None:
        chosen = self.make_strategy(POOL).select(self.pool_input(), self.candidates(), 1000)
        assert sorted(chosen.tolist()) == self.candidates().tolist()

    def test_it_returns_nothing_for_k_zero_or_no_candidates(self) -> None:
        strategy = self.make_strategy(POOL)
        assert strategy.select(self.pool_input(), self.candidates(), 0).tolist() == []
        assert strategy.select(self.pool_input(), np.array([], dtype=np.int64), 3).tolist() == []

    def test_it_is_deterministic_for_a_seed(self) -> None:
        first, second = self.make_strategy(POOL), self.make_strategy(POOL)
        a = first.select(self.pool_input(), self.candidates(), 8)
        b = second.select(self.pool_input(), self.candidates(), 8)
        assert a.tolist() == b.tolist()
        np.testing.assert_array_equal(first.last_scores_, second.last_scores_)

    def test_it_keeps_one_score_per_candidate(self) -> None:
        strategy = self.make_strategy(POOL)
        strategy.select(self.pool_input(), self.candidates(), 4)
        assert strategy.last_scores_.shape == (len(self.candidates()),)
        assert strategy.last_scores_.dtype == np.float64

    def test_it_works_on_a_pool_of_one(self) -> None:
        strategy = self.make_strategy(1)
        assert strategy.select(self.make_input(1), np.array([0]), 5).tolist() == [0]
        assert strategy.last_scores_.shape == (1,)

    def test_it_does_not_modify_its_inputs(self) -> None:
        data, cand = self.pool_input(), self.candidates()
        data_before, cand_before = copy.deepcopy(data), cand.copy()
        self.make_strategy(POOL).select(data, cand, 6)
        np.testing.assert_array_equal(cand, cand_before)
        if isinstance(data, dict):
            for key, value in data.items():
                np.testing.assert_array_equal(value, data_before[key])
        else:
            np.testing.assert_array_equal(data, data_before)

    def test_it_accepts_candidates_in_any_order_and_as_a_list(self) -> None:
        cand = self.candidates()[::-1].tolist()
        chosen = self.make_strategy(POOL).select(self.pool_input(), cand, 5)
        assert set(chosen.tolist()) <= set(cand)

    def test_it_refuses_duplicate_candidates(self) -> None:
        with pytest.raises(ValueError, match="candidates must not contain duplicates"):
            self.make_strategy(POOL).select(self.pool_input(), [1, 2, 2], 2)

    def test_it_refuses_a_negative_n(self) -> None:
        with pytest.raises(ValueError, match="n must be a non-negative integer, got -1"):
            self.make_strategy(POOL).select(self.pool_input(), self.candidates(), -1)

    def test_it_refuses_a_candidate_outside_the_input(self) -> None:
        with pytest.raises(ValueError, match=f"candidate {POOL} is out of range"):
            self.make_strategy(POOL).select(self.pool_input(), [1, POOL], 2)


class TestRandomSampling(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return RandomSampling(seed=7)


class TestLeastConfidence(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return LeastConfidence()


class TestMargin(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return Margin()


class TestEntropy(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return Entropy()


class TestVoteEntropy(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return VoteEntropy()

    def make_input(self, n_rows: int) -> Any:
        return committee(n_rows)


class TestConsensusKL(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return ConsensusKL()

    def make_input(self, n_rows: int) -> Any:
        return committee(n_rows)


class TestHierarchicalMargin(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return HierarchicalMargin(
            Tree.from_paths([["A", "a1"], ["A", "a2"], ["B", "b1"], ["B", "b2"]])
        )


class TestNovelty(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return Novelty()

    def make_input(self, n_rows: int) -> Any:
        return np.random.default_rng(4).random(n_rows)


class TestDiverseBatch(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        embeddings = np.random.default_rng(5).normal(size=(n_rows, 8))
        return DiverseBatch(Margin(), embeddings, pool_factor=2)


class TestDiverseRandomBatch(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        embeddings = np.random.default_rng(5).normal(size=(n_rows, 8))
        return DiverseBatch(RandomSampling(seed=3), embeddings)


class TestQuotaMixer(StrategyContract):
    def make_strategy(self, n_rows: int) -> Strategy:
        return QuotaMixer(
            quotas={"uncertain": 0.5, "novel": 0.3, "audit": 0.2},
            strategies={"uncertain": Margin(), "novel": Novelty(), "audit": RandomSampling(9)},
        )

    def make_input(self, n_rows: int) -> Any:
        return {"uncertain": proba(n_rows), "novel": np.random.default_rng(4).random(n_rows)}
