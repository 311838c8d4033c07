"""Query by committee: items on which the committee members disagree.

The committee is ``HierarchicalClassifier.predict_committee``: ``(m, N, k)`` probabilities,
one slice per member (fused, text-only, image-only heads).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import (
    Strategy,
    as_float_array,
    check_in_range,
    check_proba_rows,
    row_chunks,
    take_rows,
    xlogx,
)


def vote_entropy(committee: np.ndarray) -> np.ndarray:
    """``(m, n, k)`` committee probabilities -> ``(n,)`` entropy (nats) of the members'
    hard votes; 0 when all members vote for the same class."""
    committee = as_float_array(committee, 3, "committee proba")
    check_proba_rows(committee, "committee proba")
    return _vote_entropy(committee)


def consensus_kl(committee: np.ndarray) -> np.ndarray:
    """``(m, n, k)`` committee probabilities -> ``(n,)`` mean over members of
    ``KL(p_member || p_consensus)`` in nats, where the consensus is the members' mean
    (McCallum & Nigam, 1998)."""
    committee = as_float_array(committee, 3, "committee proba")
    check_proba_rows(committee, "committee proba")
    return _consensus_kl(committee)


def _vote_entropy(rows: np.ndarray) -> np.ndarray:
    m, c, k = rows.shape
    out = np.empty(c, dtype=np.float64)
    for s in row_chunks(c):
        votes = rows[:, s].argmax(axis=2)  # (m, rows); ties go to the first class
        counts = np.zeros((votes.shape[1], k), dtype=np.float64)
        for member_votes in votes:
            counts[np.arange(votes.shape[1]), member_votes] += 1.0
        out[s] = -xlogx(counts / m).sum(axis=1)
    return out


def _consensus_kl(rows: np.ndarray) -> np.ndarray:
    out = np.empty(rows.shape[1], dtype=np.float64)
    for s in row_chunks(rows.shape[1]):
        p = rows[:, s].astype(np.float64)
        tiny = np.finfo(p.dtype).tiny
        consensus = p.mean(axis=0)  # >= p_member / m, so > 0 wherever a member is > 0
        log_ratio = np.log(np.maximum(p, tiny)) - np.log(np.maximum(consensus, tiny))
        out[s] = (p * log_ratio).sum(axis=2).mean(axis=0)
    # Rounding can leave a tiny negative number where members agree exactly.
    return np.maximum(out, 0.0)


def _gather_committee(data: Any, cand: np.ndarray) -> np.ndarray:
    arr = as_float_array(data, 3, "committee proba (m, N, k)")
    if arr.shape[0] == 0:
        raise ValueError("committee proba needs at least one member")
    check_in_range(cand, arr.shape[1])
    rows = take_rows(arr, cand, axis=1)
    check_proba_rows(rows, "committee proba")
    return rows


class VoteEntropy(Strategy):
    """Wants items whose committee members vote for different classes.

    ``select(committee, candidates, n)`` with ``committee`` ``(m, N, k)``; score = vote
    entropy in nats (see ``vote_entropy``).
    """

    name = "vote_entropy"

    def _gather(self, data: Any, cand: np.ndarray) -> np.ndarray:
        return _gather_committee(data, cand)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return _vote_entropy(rows)


class ConsensusKL(Strategy):
    """Wants items whose members' distributions are far from their average.

    ``select(committee, candidates, n)`` with ``committee`` ``(m, N, k)``; score = mean
    KL divergence to the consensus (see ``consensus_kl``). Unlike vote entropy it also
    sees disagreement in confidence when the members' top class is the same.
    """

    name = "consensus_kl"

    def _gather(self, data: Any, cand: np.ndarray) -> np.ndarray:
        return _gather_committee(data, cand)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return _consensus_kl(rows)
