"""Forbidding leaves: the model's probabilities without them, and what the model says then.

A forbid rule takes its category's leaves out of an item's leaf distribution; what is left is
renormalised, so the model's next best leads. A row whose every leaf with any probability is
forbidden keeps its distribution (there is no next best to give), and says so.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def forbid_renormalise(proba: np.ndarray, forbidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero the forbidden leaves and renormalise each row.

    Args:
        proba: ``(m, n_leaves)`` leaf probabilities.
        forbidden: ``(m, n_leaves)`` bool.
    Returns:
        ``(m, n_leaves)`` float32 probabilities and ``(m,)`` bool: the rows changed (False
        where nothing would be left).
    """
    proba = np.asarray(proba, dtype=np.float32)
    forbidden = np.asarray(forbidden, dtype=bool)
    if proba.shape != forbidden.shape:
        raise ValueError(f"proba {proba.shape} and forbidden {forbidden.shape} differ in shape")
    kept = np.where(forbidden, np.float32(0), proba)
    total = kept.sum(axis=1, dtype=np.float64)
    applied = total > EPS
    out = proba.copy()
    out[applied] = (kept[applied] / total[applied, None]).astype(np.float32)
    return out, applied


def top_k(proba: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """What a prediction stores, from ``(m, n_leaves)`` probabilities: ``top_idx`` ``(m, k)``
    leaf columns, ``top_proba`` ``(m, k)``, and ``(m,)`` ``confidence``, ``margin`` (top minus
    second), ``entropy`` (natural log): the same figures ``HierarchicalClassifier.predict_topk``
    gives."""
    proba = np.asarray(proba, dtype=np.float32)
    k = min(k, proba.shape[1])
    kk = min(max(k, 2), proba.shape[1])
    order = _largest(proba, kk)
    values = np.take_along_axis(proba, order, axis=1)
    margin = values[:, 0] - values[:, 1] if values.shape[1] > 1 else values[:, 0]
    entropy = -(proba * np.log(np.clip(proba, EPS, None))).sum(axis=1)
    return {
        "top_idx": order[:, :k].astype(np.int32),
        "top_proba": values[:, :k],
        "confidence": values[:, 0],
        "margin": margin.astype(np.float32),
        "entropy": entropy.astype(np.float32),
    }


def _largest(proba: np.ndarray, kk: int) -> np.ndarray:
    """``(m, kk)`` columns of each row's ``kk`` largest values, highest first and the lower
    column first on ties: a stable sort's first ``kk``, without sorting every column (a full
    sort of 4,719 columns per row was most of a forbid rule's cost on the Google taxonomy).
    The ``kk``-th value comes from a partition; the columns above it are taken, and of those
    equal to it the lowest ones, as many as are missing. NaN (no order): the full sort."""
    if np.isnan(proba).any():
        return np.argsort(-proba, axis=1, kind="stable")[:, :kk]
    kth = -np.partition(-proba, kk - 1, axis=1)[:, kk - 1 : kk]
    above = proba > kth
    equal = proba == kth
    missing = kk - above.sum(axis=1, keepdims=True)
    chosen = above | (equal & (np.cumsum(equal, axis=1) <= missing))
    columns = np.nonzero(chosen)[1].reshape(len(proba), kk)  # ascending within each row
    values = np.take_along_axis(proba, columns, axis=1)
    return np.take_along_axis(columns, np.argsort(-values, axis=1, kind="stable"), axis=1)
