"""``evaluate``: every metric of a model on labelled items, in one JSON-ready dict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classifier.tree import Tree

from ._checks import check_nodes, check_proba, check_same_length
from .calibration import bin_confidence, ece_from_bins
from .flat import macro_f1, true_rank
from .hierarchy import accuracy_by_depth, hierarchical_prf, macro_f1_by_depth
from .rollup import decide_checked, depth_thresholds, report_decided


def evaluate(
    tree: Tree,
    proba: Any,
    y_true_node: Any,
    thresholds: float | Sequence[float] = 0.85,
    *,
    ks: Sequence[int] = (1, 3, 5),
) -> dict[str, Any]:
    """All metrics for ``(n, n_leaves)`` probabilities against ``(n,)`` true nodes.

    The flat prediction is the argmax leaf. Leaf accuracy, macro-F1, ECE and recall@k are
    computed over the items labelled at a leaf (``None`` when there are none); the
    per-depth and hierarchical metrics use every item; ``rollup`` is ``rollup_report`` at
    ``thresholds``. Only floats, ints, None and (nested) dicts, so the result can be stored
    as JSON (depth keys are ints).

    Returns:
        dict with ``n_items``, ``n_leaf_labels``, ``leaf_accuracy``, ``macro_f1``,
        ``accuracy_by_depth``, ``macro_f1_by_depth``, ``hierarchical_precision``,
        ``hierarchical_recall``, ``hierarchical_f1``, ``ece``, ``recall_at_k`` ``{k: r}``
        and ``rollup``.
    """
    proba = check_proba(proba, tree.n_leaves)
    t = check_nodes(tree, y_true_node, "y_true_node")
    check_same_length(("proba", proba), ("y_true_node", t))
    thr = depth_thresholds(tree, thresholds)
    pred_col = proba.argmax(axis=1)
    pred_node = tree.leaves[pred_col]
    hp, hr, hf = hierarchical_prf(tree, t, pred_node)
    return {
        "n_items": len(t),
        "n_leaf_labels": int((tree.leaf_index[t] >= 0).sum()),
        **_leaf_metrics(tree, proba, t, pred_col, ks),
        "accuracy_by_depth": accuracy_by_depth(tree, t, pred_node),
        "macro_f1_by_depth": macro_f1_by_depth(tree, t, pred_node),
        "hierarchical_precision": hp,
        "hierarchical_recall": hr,
        "hierarchical_f1": hf,
        "rollup": report_decided(tree, decide_checked(tree, proba, thr), pred_node, t, thr),
    }


def _leaf_metrics(
    tree: Tree, proba: np.ndarray, t: np.ndarray, pred_col: np.ndarray, ks: Sequence[int]
) -> dict[str, Any]:
    if any(isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1 for k in ks):
        raise ValueError(f"ks must be integers >= 1, got {list(ks)}")
    at_leaf = tree.leaf_index[t] >= 0
    if not at_leaf.any():
        return {
            "leaf_accuracy": None,
            "macro_f1": None,
            "ece": None,
            "recall_at_k": dict.fromkeys(int(k) for k in ks),
        }
    y = tree.leaf_index[t[at_leaf]]
    p_leaf = proba if at_leaf.all() else proba[at_leaf]
    rank = true_rank(p_leaf, y)
    correct = rank == 0  # the same as argmax == y, ties included
    return {
        "leaf_accuracy": float(correct.mean()),
        "macro_f1": macro_f1(y, pred_col[at_leaf]),
        "ece": ece_from_bins(*bin_confidence(p_leaf.max(axis=1), correct)),
        "recall_at_k": {int(k): float(np.mean(rank < k)) for k in ks},
    }
