"""Strategies that score each item on its own: random, uncertainty and novelty.

The score functions (``top_confidence``, ``margin``, ``entropy``) are public so that the
prediction records can store the same numbers the queue was built from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import (
    Strategy,
    as_float_array,
    check_finite,
    check_in_range,
    check_proba_rows,
    gather_proba,
    row_chunks,
    take_rows,
    xlogx,
)


def top_confidence(proba: np.ndarray) -> np.ndarray:
    """``(n, k)`` probabilities -> ``(n,)`` probability of the top class."""
    proba = as_float_array(proba, 2, "proba")
    check_proba_rows(proba)
    return proba.max(axis=1)


def margin(proba: np.ndarray) -> np.ndarray:
    """``(n, k)`` probabilities -> ``(n,)`` top-1 minus top-2 probability (0 = a tie).

    With one class the runner-up counts as probability 0.
    """
    proba = as_float_array(proba, 2, "proba")
    check_proba_rows(proba)
    return _margin(proba)


def entropy(proba: np.ndarray) -> np.ndarray:
    """``(n, k)`` probabilities -> ``(n,)`` Shannon entropy in nats (uniform over k = ln k)."""
    proba = as_float_array(proba, 2, "proba")
    check_proba_rows(proba)
    return _entropy(proba)


def _margin(rows: np.ndarray) -> np.ndarray:
    if rows.shape[1] == 1:
        return rows[:, 0].astype(np.float64)
    # max, blank it out, max again: far faster than np.partition on short rows.
    r = np.arange(rows.shape[0])
    best = rows.argmax(axis=1)
    first = rows[r, best].astype(np.float64)
    rest = rows.copy()
    rest[r, best] = -np.inf
    return first - rest.max(axis=1)


def _entropy(rows: np.ndarray) -> np.ndarray:
    out = np.empty(rows.shape[0], dtype=np.float64)
    for s in row_chunks(rows.shape[0]):
        out[s] = -xlogx(rows[s]).sum(axis=1)
    return out


class RandomSampling(Strategy):
    """Uniformly random order; the audit slice.

    ``select(data, candidates, n)``: ``data`` is ignored except for its length (rows of the
    pool, used to check ``candidates``); it may be ``None``. Scores are uniform in [0, 1).
    The generator is created from ``seed`` on the first call and advances with each call,
    so a fresh instance with the same seed repeats the same sequence of batches.
    """

    name = "random"
    needs_input = False

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _gather(self, data: Any, cand: np.ndarray) -> int:
        if data is not None:
            check_in_range(cand, len(data))
        return len(cand)

    def _score(self, rows: int) -> np.ndarray:
        if not hasattr(self, "rng_"):
            self.rng_ = np.random.default_rng(self.seed)
        return self.rng_.random(rows)


class LeastConfidence(Strategy):
    """Wants items whose top class is least probable: score ``1 - max(p)``.

    ``select(proba, candidates, n)`` with ``proba`` ``(N, k)``.
    """

    name = "least_confidence"

    def _gather(self, data: Any, cand: np.ndarray) -> np.ndarray:
        return gather_proba(data, cand)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 - rows.max(axis=1).astype(np.float64)


class Margin(Strategy):
    """Wants items whose two best classes are closest: score ``1 - (p1 - p2)``.

    ``select(proba, candidates, n)`` with ``proba`` ``(N, k)``; the raw margin is
    ``1 - last_scores_`` (see ``margin``).
    """

    name = "margin"

    def _gather(self, data: Any, cand: np.ndarray) -> np.ndarray:
        return gather_proba(data, cand)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 - _margin(rows)


class Entropy(Strategy):
    """Wants items with the most spread-out prediction: score = entropy in nats.

    ``select(proba, candidates, n)`` with ``proba`` ``(N, k)``.
    """

    name = "entropy"

    def _gather(self, data: Any, cand: np.ndarray) -> np.ndarray:
        return gather_proba(data, cand)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return _entropy(rows)


class Novelty(Strategy):
    """Wants items far from everything labelled: score = the novelty score itself.

    ``select(novelty, candidates, n)`` with ``novelty`` ``(N,)`` finite floats, higher =
    more novel (e.g. ``HierarchicalClassifier.novelty``).
    """

    name = "novelty"

    def _gather(self, data: Any, cand: np.ndarray) -> np.ndarray:
        arr = as_float_array(data, 1, "novelty scores")
        check_in_range(cand, arr.shape[0])
        rows = take_rows(arr, cand).astype(np.float64)
        check_finite(rows, "novelty scores")
        return rows

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return rows
