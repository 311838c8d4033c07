"""Comparing two models on the same items: a paired bootstrap of the difference of a score.

Two models scored on the same 63 held-out labels differ by 0.01 in hierarchical F1: less
than one item. Whether that is a real loss depends on which items differ, not on the two
totals, so the comparison resamples *items* (both models' results for an item stay
together) and reads the spread of the difference off the resamples.

Scores are ratios of per-item sums, ``stat = sum(numerator) / sum(denominator)``: a mean
(denominator 1) such as accuracy, or micro-averaged hierarchical F1, which is exactly
``sum(2 |T & P|) / sum(|T| + |P|)`` over the items (``hierarchical_f1_parts``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from classifier.tree import Tree

from ._checks import check_nodes, check_same_length
from .hierarchy import ancestor_table, common_ancestor_count

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95
# Cells of one (resamples x items) block of resample counts: bounds the memory at any size.
BLOCK_CELLS = 4_000_000


@dataclass(frozen=True)
class PairedInterval:
    """``difference`` = stat(a) - stat(b) on all ``n`` items; [``low``, ``high``] its
    percentile bootstrap interval at ``confidence`` over ``resamples`` resamples."""

    difference: float
    low: float
    high: float
    n: int
    confidence: float
    resamples: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hierarchical_f1_parts(
    tree: Tree, y_true_node: Any, y_pred_node: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Per item ``(2 |T & P|, |T| + |P|)`` as ``(n,)`` float64 arrays, where T and P are the
    augmented sets (node and ancestors) of the true and predicted node (``-1``, abstain, is
    the empty set). Their sums' ratio is ``hierarchical_prf``'s micro F1:
    ``2 hP hR / (hP + hR)`` with ``hP = C / P`` and ``hR = C / T`` is ``2 C / (P + T)``."""
    t = check_nodes(tree, y_true_node, "y_true_node")
    p = check_nodes(tree, y_pred_node, "y_pred_node", allow_abstain=True)
    check_same_length(("y_true_node", t), ("y_pred_node", p))
    common = common_ancestor_count(ancestor_table(tree), t, p)
    pred_size = np.where(p >= 0, tree.depth[np.maximum(p, 0)], 0)
    return 2.0 * common, (tree.depth[t] + pred_size).astype(np.float64)


def paired_bootstrap(
    a: Any,
    b: Any,
    *,
    denominator_a: Any = None,
    denominator_b: Any = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedInterval:
    """Paired percentile bootstrap of ``stat(a) - stat(b)`` on the same items.

    Args:
        a, b: ``(n,)`` per-item numerators of the two models' scores (row i is item i for
            both), e.g. 1.0/0.0 correctness or ``hierarchical_f1_parts(...)[0]``.
        denominator_a, denominator_b: ``(n,)`` per-item denominators (default 1: the mean).
        n_resamples: resamples of the n items, with replacement (the same items for a and b).
        confidence: two-sided level of the interval, in (0, 1).
        seed: the resamples depend on it only, so a decision can be reproduced.

    Returns:
        A ``PairedInterval``; ``low == high == difference`` when every item differs by the
        same amount (with denominators 1).
    """
    cols = _columns(a, b, denominator_a, denominator_b)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(n_resamples, bool) or int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    n = cols.shape[0]
    diffs = _resampled_differences(cols, int(n_resamples), np.random.default_rng(seed))
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1.0 - alpha])
    whole = _difference(cols.sum(axis=0, keepdims=True))[0]
    # The interval holds the whole-sample difference (rounding alone can put a degenerate
    # interval a hair beside it).
    return PairedInterval(
        difference=float(whole),
        low=float(min(low, whole)),
        high=float(max(high, whole)),
        n=n,
        confidence=float(confidence),
        resamples=int(n_resamples),
    )


def _columns(a: Any, b: Any, den_a: Any, den_b: Any) -> np.ndarray:
    """``(n, 4)`` float64: numerator a, denominator a, numerator b, denominator b."""
    na, nb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    da = np.ones_like(na) if den_a is None else np.asarray(den_a, dtype=np.float64)
    db = np.ones_like(nb) if den_b is None else np.asarray(den_b, dtype=np.float64)
    if any(x.ndim != 1 for x in (na, nb, da, db)):
        raise ValueError("per-item scores must be 1-d arrays")
    check_same_length(("a", na), ("b", nb), ("denominator_a", da), ("denominator_b", db))
    if not len(na):
        raise ValueError("a paired comparison needs at least one item")
    cols = np.stack([na, da, nb, db], axis=1)
    if not np.isfinite(cols).all():
        raise ValueError("per-item scores must be finite")
    return cols


def _resampled_differences(
    cols: np.ndarray, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """``(resamples,)`` differences, each on n items drawn with replacement (as counts)."""
    n = cols.shape[0]
    block = max(1, BLOCK_CELLS // n)
    out = np.empty(resamples, dtype=np.float64)
    uniform = np.full(n, 1.0 / n)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        counts = rng.multinomial(n, uniform, size=size).astype(np.float64)
        out[start : start + size] = _difference(counts @ cols)
    return out


def _difference(sums: np.ndarray) -> np.ndarray:
    """``(m,)`` stat(a) - stat(b) from ``(m, 4)`` column sums; a zero denominator gives 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(sums[:, 1] > 0, sums[:, 0] / sums[:, 1], 0.0)
        b = np.where(sums[:, 3] > 0, sums[:, 2] / sums[:, 3], 0.0)
    return a - b
