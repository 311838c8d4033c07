"""Metrics that know the tree: accuracy and macro-F1 per depth, hierarchical P/R/F1.

Labels and predictions are node indices; a prediction may be an inner node (a rolled-up
decision) or ``-1`` (abstain).

Per-depth convention: at depth ``d`` both sides are replaced by their ancestor at depth
``d``. Items whose *true* node is shallower than ``d`` are left out at ``d`` (the reviewer
did not say which depth-``d`` node is right). A *prediction* shallower than ``d``, or an
abstain, counts as wrong at ``d``: it did not name a depth-``d`` node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from classifier.tree import Tree

from ._checks import check_nodes, check_same_length, safe_div
from .flat import per_class_f1


def ancestor_table(tree: Tree) -> np.ndarray:
    """``(max_depth, n_nodes + 1)`` int64: ``T[d - 1, v]`` is the ancestor-or-self of node
    ``v`` at depth ``d``, or ``-1`` when ``v`` is shallower. The extra last column is all
    ``-1``, so indexing with ``-1`` (abstain) yields ``-1`` at every depth."""
    table = np.full((tree.max_depth, tree.n_nodes + 1), -1, dtype=np.int64)
    for d in range(1, tree.max_depth + 1):
        nodes = np.flatnonzero(tree.depth == d)
        below = tree.ancestors[nodes]  # (len(nodes), n_nodes): node is v or above v
        table[d - 1, :-1] = np.where(below.any(axis=0), nodes[below.argmax(axis=0)], -1)
    return table


def _checked(tree: Tree, y_true_node: Any, y_pred_node: Any) -> tuple[np.ndarray, np.ndarray]:
    t = check_nodes(tree, y_true_node, "y_true_node")
    p = check_nodes(tree, y_pred_node, "y_pred_node", allow_abstain=True)
    check_same_length(("y_true_node", t), ("y_pred_node", p))
    return t, p


def accuracy_by_depth(tree: Tree, y_true_node: Any, y_pred_node: Any) -> dict[int, float]:
    """Accuracy of the depth-``d`` ancestors, for every depth some true node reaches.

    Args:
        y_true_node: ``(n,)`` true node indices.
        y_pred_node: ``(n,)`` predicted node indices, ``-1`` = abstain.

    Returns:
        ``{depth: accuracy}``; see the module docstring for shallow nodes and abstains.
    """
    t, p = _checked(tree, y_true_node, y_pred_node)
    table = ancestor_table(tree)
    out: dict[int, float] = {}
    for d in range(1, tree.max_depth + 1):
        at, ap = table[d - 1, t], table[d - 1, p]
        known = at >= 0
        if known.any():
            out[d] = float(np.mean(at[known] == ap[known]))
    return out


def macro_f1_by_depth(tree: Tree, y_true_node: Any, y_pred_node: Any) -> dict[int, float]:
    """Macro-F1 of the depth-``d`` ancestors, over the depth-``d`` classes present among
    the true ancestors (as ``flat.macro_f1``: a class only predicted is not averaged in).
    Same conventions as ``accuracy_by_depth``; a missing depth-``d`` prediction is a miss
    for the true class, not a class."""
    t, p = _checked(tree, y_true_node, y_pred_node)
    table = ancestor_table(tree)
    out: dict[int, float] = {}
    for d in range(1, tree.max_depth + 1):
        at, ap = table[d - 1, t], table[d - 1, p]
        known = at >= 0
        if known.any():
            at, ap = at[known], ap[known]
            classes = np.unique(at)
            out[d] = float(per_class_f1(at, ap, classes).mean())
    return out


def hierarchical_prf(tree: Tree, y_true_node: Any, y_pred_node: Any) -> tuple[float, float, float]:
    """Hierarchical precision, recall and F1 (Kiritchenko et al., 2005), micro-averaged.

    Each node stands for its augmented set: itself and its ancestors (there is no root to
    leave out). ``hP = sum |T & P| / sum |P|``, ``hR = sum |T & P| / sum |T|``,
    ``hF = 2 hP hR / (hP + hR)``. An abstain (``-1``) predicts the empty set, so it lowers
    recall but not precision; a ratio with a zero denominator is 0.

    Returns:
        ``(precision, recall, f1)``.
    """
    t, p = _checked(tree, y_true_node, y_pred_node)
    common = common_ancestor_count(ancestor_table(tree), t, p)
    pred_size = np.where(p >= 0, tree.depth[np.maximum(p, 0)], 0)
    hp = safe_div(common.sum(), pred_size.sum())
    hr = safe_div(common.sum(), tree.depth[t].sum())
    return hp, hr, safe_div(2 * hp * hr, hp + hr)


def common_ancestor_count(table: np.ndarray, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``(n,)`` size of the intersection of the augmented sets of ``t`` and ``p``."""
    at, ap = table[:, t], table[:, p]
    return ((at == ap) & (at >= 0)).sum(axis=0)
