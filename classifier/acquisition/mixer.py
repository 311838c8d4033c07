"""Fill one review batch from several reasons by quota.

Each reason ("uncertain", "disagreement", "boundary", "novel", "audit") has a strategy
and a share of the batch. Reasons take turns in proportion to their quotas, so the top of
the queue is already a mix; an item goes to the first reason that reaches it, and a reason
that runs out of candidates hands its unfilled share to the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .base import Strategy, check_candidates, check_n
from .diverse import positions_in


class QuotaMixer(Strategy):
    """Mix several strategies into one batch by quota, with a reason per item.

    Args:
        quotas: reason -> share of the batch (non-negative, at least one > 0; normalised
            to sum to 1). Dict order breaks ties between reasons.
        strategies: reason -> strategy, one for every reason with a quota.
        min_scores: optional reason -> minimum score (in the strategy's ``last_scores_``
            units) for an item to count as a candidate of that reason, e.g. a novelty
            cut-off, so a reason can run out before the pool does.

    ``select_with_reasons(inputs_by_reason, candidates, n)``: ``inputs_by_reason`` maps a
    reason to its strategy's input over the whole pool. A reason whose input is ``None``
    (e.g. no committee yet) has no candidates this time; a missing key is an error,
    except for strategies that need no input (random audit).

    Attributes:
        last_reasons_: reason of each item of the last batch, in batch order.
        last_scores_: ``(len(candidates),)`` each chosen candidate's score under the
            reason that chose it; NaN for candidates not chosen.
        last_scores_by_reason_: reason -> ``(len(candidates),)`` scores of its strategy
            (NaN where the reason had no input).
    """

    name = "quota"

    def __init__(
        self,
        quotas: Mapping[str, float],
        strategies: Mapping[str, Strategy],
        min_scores: Mapping[str, float] | None = None,
    ) -> None:
        self.quotas = quotas
        self.strategies = strategies
        self.min_scores = min_scores

    def select(self, scores_or_proba: Any, candidates: Any, n: int) -> np.ndarray:
        """Same as ``select_with_reasons`` without the reasons."""
        return self.select_with_reasons(scores_or_proba, candidates, n)[0]

    def select_with_reasons(
        self, inputs_by_reason: Mapping[str, Any], candidates: Any, n: int
    ) -> tuple[np.ndarray, list[str]]:
        """Choose up to ``n`` distinct candidates, mixing reasons by quota.

        Returns:
            ``(min(n, c),)`` int64 indices (fewer only when the reasons together have fewer
            eligible candidates) and the reason of each, in batch order.
        """
        n = check_n(n)
        cand = check_candidates(candidates)
        weights = self._check_quotas()
        self._check_inputs(inputs_by_reason, weights)
        n = min(n, len(cand))
        rankings = {r: self._ranking(r, inputs_by_reason.get(r), cand, n) for r in weights}
        chosen, reasons = _fill(rankings, weights, n)
        self._keep_scores(cand, chosen, reasons)
        return np.asarray(chosen, dtype=np.int64), reasons

    def _check_quotas(self) -> dict[str, float]:
        if not self.quotas:
            raise ValueError("quotas must name at least one reason")
        missing = [r for r in self.quotas if r not in self.strategies]
        if missing:
            raise ValueError(
                f"no strategy for reason(s) {missing}; strategies cover {sorted(self.strategies)}"
            )
        values = {r: float(q) for r, q in self.quotas.items()}
        if any(not math.isfinite(q) or q < 0 for q in values.values()):
            raise ValueError(f"quotas must be finite and >= 0, got {values}")
        total = sum(values.values())
        if total <= 0:
            raise ValueError("at least one quota must be > 0")
        return {r: q / total for r, q in values.items() if q > 0}

    def _check_inputs(self, inputs: Mapping[str, Any], weights: Mapping[str, float]) -> None:
        if not isinstance(inputs, Mapping):
            raise ValueError("inputs_by_reason must be a dict: reason -> strategy input")
        unknown = sorted(set(inputs) - set(self.strategies))
        if unknown:
            raise ValueError(
                f"inputs for unknown reason(s) {unknown}; known: {sorted(self.strategies)}"
            )
        missing = [r for r in weights if r not in inputs and self.strategies[r].needs_input]
        if missing:
            raise ValueError(
                f"no input for reason(s) {missing}; pass None for a reason "
                "that has no input this time"
            )

    def _ranking(self, reason: str, data: Any, cand: np.ndarray, n: int) -> np.ndarray:
        """The reason's best ``n`` eligible candidates, best first. ``n`` is enough: a
        reason cannot use up ``n`` items while the batch still has room, because every
        item it skips is already in the batch."""
        strategy = self.strategies[reason]
        if data is None and strategy.needs_input:
            strategy.last_scores_ = np.full(len(cand), np.nan)
            return np.zeros(0, dtype=np.int64)
        ranked = strategy.select(data, cand, n)
        floor = (self.min_scores or {}).get(reason)
        if floor is not None:
            ranked = ranked[strategy.last_scores_[positions_in(cand, ranked)] >= floor]
        return ranked

    def _keep_scores(self, cand: np.ndarray, chosen: list[int], reasons: list[str]) -> None:
        by_reason = {r: self.strategies[r].last_scores_ for r in self._check_quotas()}
        scores = np.full(len(cand), np.nan)
        pos = positions_in(cand, np.asarray(chosen, dtype=np.int64))
        for p, r in zip(pos, reasons, strict=True):
            scores[p] = by_reason[r][p]
        self.last_scores_ = scores
        self.last_scores_by_reason_ = by_reason
        self.last_reasons_ = reasons


def apportion(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` into integers by ``weights`` (largest remainder; ties by order)."""
    if not weights:
        return {}
    norm = sum(weights.values())
    exact = {r: total * w / norm for r, w in weights.items()}
    counts = {r: math.floor(x) for r, x in exact.items()}
    by_remainder = sorted(weights, key=lambda r: -(exact[r] - counts[r]))  # stable sort
    for r in by_remainder[: total - sum(counts.values())]:
        counts[r] += 1
    return counts


def _fill(
    rankings: Mapping[str, np.ndarray], weights: Mapping[str, float], n: int
) -> tuple[list[int], list[str]]:
    """Reasons take turns (the one furthest behind its target goes next); an exhausted
    reason drops out and what is left of ``n`` is re-apportioned over the others."""
    active = [r for r in weights if len(rankings[r])]
    target = apportion(n, {r: weights[r] for r in active})
    got = dict.fromkeys(weights, 0)
    cursor = dict.fromkeys(weights, 0)
    taken: set[int] = set()
    chosen: list[int] = []
    reasons: list[str] = []
    while len(chosen) < n and active:
        behind = [r for r in active if got[r] < target[r]]
        if not behind:
            extra = apportion(n - len(chosen), {r: weights[r] for r in active})
            target = {r: target.get(r, 0) + extra.get(r, 0) for r in weights}
            continue
        reason = min(behind, key=lambda r: (got[r] + 0.5) / target[r])
        item = _next_free(rankings[reason], cursor, reason, taken)
        if item is None:
            active.remove(reason)
            continue
        taken.add(item)
        chosen.append(item)
        reasons.append(reason)
        got[reason] += 1
    return chosen, reasons


def _next_free(
    ranking: np.ndarray, cursor: dict[str, int], reason: str, taken: set[int]
) -> int | None:
    while cursor[reason] < len(ranking):
        item = int(ranking[cursor[reason]])
        cursor[reason] += 1
        if item not in taken:
            return item
    return None
