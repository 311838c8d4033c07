"""Diversified batches: no ten near-duplicates in a row.

The catalog holds many near-identical items (same title, different id); a plain top-n by
uncertainty would hand a reviewer ten copies of the same question. DiverseBatch takes the
base strategy's best ``pool_factor * n`` candidates and picks ``n`` of them by greedy
farthest-point (core-set) selection, each pick's distance weighted by its base score.

At catalog scale the review queue feeds it two inputs made here: ``diversity_shortlist`` (the
rows any of several rankings' DiverseBatch could look at, so only those have embeddings read)
and ``diversity_embeddings`` (the item's modalities side by side, randomly projected down).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .base import Strategy, as_float_array, check_candidates, check_finite, check_in_range, check_n

# Unit vectors closer than this are one item for diversity (float32 rounding of identical
# titles' embeddings stays far below it).
DUPLICATE_DISTANCE = 1e-6


class DiverseBatch(Strategy):
    """Diversify another strategy's batch over item embeddings.

    Args:
        base_strategy: ranks the candidates; its input is passed through unchanged.
        embeddings: ``(N, d)`` item embeddings over the same pool (e.g. text embeddings);
            rows are L2-normalised here, so only directions matter.
        pool_factor: how many of the base strategy's best candidates, per wanted item,
            to choose from (``>= 1``).
        score_weight: in ``[0, 1]``; the weight of a pool member is
            ``1 - score_weight + score_weight * s``, ``s`` its base score min-max scaled to
            ``[0, 1]`` within the pool. 0 = pure farthest-point, 1 = distance x score.

    ``select(data, candidates, n)``: the first pick is the base strategy's best; each next
    pick maximises ``weight * distance to the nearest item already picked``. A duplicate of a
    picked item (distance below ``DUPLICATE_DISTANCE``) comes only after every item that
    differs, whatever the weights; when the pool holds fewer than ``n`` distinct items the
    pool is doubled (up to every candidate) before a duplicate is accepted.

    Attributes:
        last_scores_: the base strategy's ``(len(candidates),)`` scores.
    """

    name = "diverse"

    def __init__(
        self,
        base_strategy: Strategy,
        embeddings: np.ndarray,
        pool_factor: int = 10,
        score_weight: float = 0.5,
    ) -> None:
        self.base_strategy = base_strategy
        self.embeddings = embeddings
        self.pool_factor = pool_factor
        self.score_weight = score_weight

    def select(self, scores_or_proba: Any, candidates: Any, n: int) -> np.ndarray:
        n = check_n(n)
        cand = check_candidates(candidates)
        self._check_params()
        emb = as_float_array(self.embeddings, 2, "embeddings")
        check_in_range(cand, emb.shape[0])
        size = self.pool_factor * n
        while True:
            pool = self.base_strategy.select(scores_or_proba, cand, size)
            self.last_scores_ = self.base_strategy.last_scores_
            if len(pool) == 0:
                return pool
            pool_emb = emb[pool].astype(np.float64)
            check_finite(pool_emb, "embeddings")
            weights = self._weights(self.last_scores_[positions_in(cand, pool)])
            picked, distinct = _greedy_farthest(_normalise(pool_emb), weights, min(n, len(pool)))
            # Rare: a big cluster of copies fills the pool; look further down the ranking.
            if distinct or len(pool) == len(cand):
                return pool[picked]
            size *= 2

    @property
    def needs_input(self) -> bool:  # type: ignore[override]
        """Whatever the base strategy needs (random audit needs nothing)."""
        return self.base_strategy.needs_input

    def _check_params(self) -> None:
        if isinstance(self.pool_factor, bool) or not isinstance(self.pool_factor, int | np.integer):
            raise ValueError(f"pool_factor must be an integer >= 1, got {self.pool_factor!r}")
        if self.pool_factor < 1:
            raise ValueError(f"pool_factor must be an integer >= 1, got {self.pool_factor}")
        if not 0.0 <= float(self.score_weight) <= 1.0:
            raise ValueError(f"score_weight must be in [0, 1], got {self.score_weight}")

    def _weights(self, pool_scores: np.ndarray) -> np.ndarray:
        lo, hi = pool_scores.min(), pool_scores.max()
        scaled = (pool_scores - lo) / (hi - lo) if hi > lo else np.ones_like(pool_scores)
        w = float(self.score_weight)
        return np.asarray((1.0 - w) + w * scaled, dtype=np.float64)


def positions_in(cand: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Positions in ``cand`` (distinct values) of each value in ``chosen`` (each must be in
    ``cand``)."""
    order = np.argsort(cand, kind="stable")
    return order[np.searchsorted(cand[order], chosen)]


def _normalise(emb: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    # A zero vector stays zero: it sits at distance 1 from every unit vector.
    return emb / np.where(norms > 0, norms, 1.0)


def _greedy_farthest(emb: np.ndarray, weights: np.ndarray, n: int) -> tuple[np.ndarray, bool]:
    """Greedy core-set over unit rows of ``emb`` starting from row 0 (the base's best);
    ties go to the lower position, i.e. the base strategy's order.

    Returns the picked positions and whether they are pairwise distinct (no pick within
    ``DUPLICATE_DISTANCE`` of an earlier one).
    """
    picked = [0]
    nearest = _distance_to(emb, 0)
    available = np.ones(len(emb), dtype=bool)
    available[0] = False
    distinct = True
    for _ in range(n - 1):
        # -1 ranks a duplicate below every distinct item, even one whose weight is 0.
        gain = np.where(nearest > DUPLICATE_DISTANCE, nearest * weights, -1.0)
        j = int(np.where(available, gain, -np.inf).argmax())
        distinct &= bool(nearest[j] > DUPLICATE_DISTANCE)
        picked.append(j)
        available[j] = False
        nearest = np.minimum(nearest, _distance_to(emb, j))
    return np.asarray(picked, dtype=np.int64), distinct


def _distance_to(emb: np.ndarray, j: int) -> np.ndarray:
    """Euclidean distance of every row to row ``j`` (rows have norm 1 or 0)."""
    diff = emb - emb[j]
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))


def diversity_shortlist(scores: Iterable[np.ndarray], keep: int) -> np.ndarray:
    """Sorted distinct rows that are among the ``keep`` best (highest, ties to the lower row)
    of at least one of ``scores`` (arrays over the same rows): with ``keep = pool_factor * n``
    every row a DiverseBatch over any of these rankings could look at."""
    parts = [
        np.argsort(-s, kind="stable")[:keep] if keep < len(s) else np.arange(len(s)) for s in scores
    ]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(parts))


def diversity_embeddings(modalities: Iterable[np.ndarray], dim: int, seed: int = 0) -> np.ndarray:
    """Each ``(n, d_m)`` modality L2-normalised by row (NaN, i.e. missing, as zeros), side by
    side, then randomly projected to ``dim`` columns when wider (Johnson-Lindenstrauss:
    distances survive within a few percent, and the greedy picks get much cheaper).

    The projection comes from ``seed``, so the same items always get the same vectors. No
    modality at all gives a ``(0, 1)`` array.
    """
    parts = []
    for values in modalities:
        v = np.nan_to_num(values.astype(np.float32))
        parts.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
    emb = np.concatenate(parts, axis=1) if parts else np.zeros((0, 1), np.float32)
    if emb.shape[1] <= dim:
        return emb
    proj = np.random.default_rng(seed).normal(size=(emb.shape[1], dim)).astype(np.float32)
    return np.asarray(emb @ proj)
