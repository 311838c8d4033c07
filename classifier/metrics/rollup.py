"""Roll-up: answer at the deepest node the model is sure enough about, else abstain.

A decision at an inner node is less specific but rarely wrong; this module decides and
reports what that trade buys (coverage per depth, error of the decisions, abstains, wrong
answers flat vs rolled up).

Correctness of a decision ``a`` against a true node ``t``: right when ``a`` is ``t`` or
one of its ancestors. When the truth is itself an inner node (the reviewer was only sure
down to there) and ``a`` lies below it, the answer cannot be checked and is not counted
as wrong; for leaf labels, the usual case, this is exactly "ancestor-or-self".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classifier.tree import Tree

from ._checks import check_nodes, check_proba, check_same_length, chunks, safe_div
from .hierarchy import hierarchical_prf
from .nodes import depth_layout


def depth_thresholds(tree: Tree, thresholds: float | Sequence[float]) -> np.ndarray:
    """``(max_depth,)`` float64 threshold per depth (depth 1 first) from one float or a
    sequence of ``tree.max_depth`` values. A value above 1 switches that depth off."""
    arr = np.asarray(thresholds, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(tree.max_depth, float(arr))
    if arr.shape != (tree.max_depth,):
        raise ValueError(
            f"thresholds must be one float or {tree.max_depth} values (one per depth), "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(arr).all() or arr.min() < 0:
        raise ValueError(f"thresholds must be finite and >= 0, got {arr.tolist()}")
    return arr


def rollup_decide(tree: Tree, proba: Any, thresholds: float | Sequence[float]) -> np.ndarray:
    """The deepest node whose probability clears its depth's threshold, else ``-1``.

    Args:
        tree: the category tree; ``proba`` columns follow ``tree.leaves``.
        proba: ``(n, n_leaves)`` leaf probabilities.
        thresholds: one float, or one per depth (depth 1 first).

    Returns:
        ``(n,)`` int64 node index, or ``-1`` (abstain). Between nodes of the same depth
        that both clear (possible only with a threshold <= 0.5) the more probable wins,
        then the lower node index.
    """
    proba = check_proba(proba, tree.n_leaves)
    return decide_checked(tree, proba, depth_thresholds(tree, thresholds))


def decide_checked(tree: Tree, proba: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """``rollup_decide`` on inputs already checked: ``proba`` ``(n, n_leaves)`` and ``thr``
    the per-depth thresholds of ``depth_thresholds``."""
    layout = depth_layout(tree)
    out = np.empty(proba.shape[0], dtype=np.int64)
    for s in chunks(proba.shape[0]):
        node_p = layout.node_proba(proba[s])
        rows = np.arange(node_p.shape[0])
        decided = np.full(node_p.shape[0], -1, dtype=np.int64)
        for d in range(tree.max_depth, 0, -1):  # deepest first: the first hit is kept
            cols = layout.depth_slice(d)
            best = node_p[:, cols].argmax(axis=1)  # ties: lowest node index at that depth
            hit = (node_p[rows, cols.start + best] >= thr[d - 1]) & (decided < 0)
            decided[hit] = layout.nodes[cols.start + best[hit]]
        out[s] = decided
    return out


def compatible(tree: Tree, decided: np.ndarray, y_true_node: np.ndarray) -> np.ndarray:
    """``(n,)`` True where the decision is not contradicted by the true node (see the
    module docstring); an abstain (``-1``) is never compatible."""
    a = np.maximum(decided, 0)
    ok = tree.ancestors[a, y_true_node] | tree.ancestors[y_true_node, a]
    return ok & (decided >= 0)


def rollup_report(
    tree: Tree, proba: Any, y_true_node: Any, thresholds: float | Sequence[float]
) -> dict[str, Any]:
    """What the roll-up policy does on labelled items.

    Args:
        proba: ``(n, n_leaves)`` leaf probabilities.
        y_true_node: ``(n,)`` true node indices.
        thresholds: one float, or one per depth.

    Returns:
        dict with ``thresholds`` (per depth), ``coverage_by_depth`` ``{d: share of items
        decided at depth d}``, ``error_by_depth`` ``{d: share of those decisions that are
        wrong, None when there are none}``, ``decided_share``, ``abstain_rate``,
        ``decision_error_rate`` (wrong / decided, None without decisions),
        ``wrong_rate_flat`` (argmax leaf wrong, over all items), ``wrong_rate_rollup``
        (decided and wrong, over all items; an abstain is not a wrong answer),
        ``wrong_reduction`` (``1 - rollup / flat``, None when flat is 0), ``leaf_share``
        (share decided at a leaf) and ``hierarchical_precision/recall/f1`` of the
        decisions.
    """
    proba = check_proba(proba, tree.n_leaves)
    t = check_nodes(tree, y_true_node, "y_true_node")
    check_same_length(("proba", proba), ("y_true_node", t))
    thr = depth_thresholds(tree, thresholds)
    decided = decide_checked(tree, proba, thr)
    flat = tree.leaves[proba.argmax(axis=1)]
    return report_decided(tree, decided, flat, t, thr)


def report_decided(
    tree: Tree, decided: np.ndarray, flat: np.ndarray, t: np.ndarray, thr: np.ndarray
) -> dict[str, Any]:
    """The roll-up figures of ``rollup_report`` from nodes already decided (``decided``, -1:
    no decision), the flat predictions ``flat``, the true leaves ``t`` and thresholds ``thr``."""
    n = len(t)
    made = decided >= 0
    wrong = made & ~compatible(tree, decided, t)
    depth = np.where(made, tree.depth[np.maximum(decided, 0)], 0)
    wrong_flat = float(np.mean(~compatible(tree, flat, t)))
    wrong_rollup = float(wrong.sum() / n)
    hp, hr, hf = hierarchical_prf(tree, t, decided)
    return {
        "thresholds": thr.tolist(),
        "coverage_by_depth": {d: float(np.mean(depth == d)) for d in range(1, tree.max_depth + 1)},
        "error_by_depth": {d: _rate(wrong[depth == d]) for d in range(1, tree.max_depth + 1)},
        "decided_share": float(made.mean()),
        "abstain_rate": float(1.0 - made.mean()),
        "decision_error_rate": _rate(wrong[made]),
        "wrong_rate_flat": wrong_flat,
        "wrong_rate_rollup": wrong_rollup,
        "wrong_reduction": 1.0 - safe_div(wrong_rollup, wrong_flat) if wrong_flat else None,
        "leaf_share": float(np.mean(made & (tree.leaf_index[np.maximum(decided, 0)] >= 0))),
        "hierarchical_precision": hp,
        "hierarchical_recall": hr,
        "hierarchical_f1": hf,
    }


def _rate(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None
