"""Flat metrics over leaf columns: accuracy, macro-F1, recall@k, confused pairs."""

from __future__ import annotations

from typing import Any

import numpy as np

from classifier.tree import Tree

from ._checks import (
    check_labels,
    check_leaf_cols,
    check_nodes,
    check_proba,
    check_same_length,
    chunks,
)


def leaf_accuracy(y_true_leaf_col: Any, proba_or_pred: Any) -> float:
    """Share of items whose predicted leaf is the true one.

    Args:
        y_true_leaf_col: ``(n,)`` true leaf columns (positions in ``tree.leaves``).
        proba_or_pred: ``(n, n_leaves)`` probabilities (argmax, first column on ties) or
            ``(n,)`` predicted columns (``-1`` = abstain, always wrong).
    """
    y_true = check_labels(y_true_leaf_col, "y_true_leaf_col")
    y_pred = _as_prediction(proba_or_pred)
    check_same_length(("y_true_leaf_col", y_true), ("proba_or_pred", y_pred))
    return float(np.mean(y_true == y_pred))


def _as_prediction(proba_or_pred: Any) -> np.ndarray:
    arr = np.asarray(proba_or_pred)
    if arr.ndim == 2:
        return check_proba(arr, what="proba_or_pred").argmax(axis=1)
    return check_labels(arr, "proba_or_pred", allow_abstain=True)


def macro_f1(y_true: Any, y_pred: Any, labels: Any = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true``.

    A true class that is never predicted scores F1 = 0. A class that is only predicted
    (no true item) is *not* averaged in, unlike scikit-learn's default: its recall is
    undefined, its F1 would be 0 whatever the model does on it, and every such wrong
    prediction already costs the true class its recall; with a long tail and a small
    audit slice the union would mostly measure which wrong classes happened to be
    predicted. Pass ``labels`` to average over a fixed class list instead (then this
    equals scikit-learn's ``f1_score(average="macro", labels=labels, zero_division=0)``).

    Args:
        y_true: ``(n,)`` int classes (``>= 0``).
        y_pred: ``(n,)`` int classes; ``-1`` = abstain: a miss for the true class, never a
            class itself.
        labels: optional distinct classes (``>= 0``) to average over; a class with no true
            and no predicted item scores F1 = 0.
    """
    t = check_labels(y_true, "y_true")
    p = check_labels(y_pred, "y_pred", allow_abstain=True)
    check_same_length(("y_true", t), ("y_pred", p))
    if labels is None:
        classes = np.unique(t)
    else:
        classes = np.asarray(labels)
        if classes.ndim != 1 or classes.size == 0 or classes.dtype.kind not in "iu":
            raise ValueError("labels must be a non-empty 1-D array of int classes")
        if classes.min() < 0:
            raise ValueError(f"labels must be classes >= 0, got {int(classes.min())}")
        if len(np.unique(classes)) != len(classes):
            raise ValueError("labels must not repeat a class")
    return float(per_class_f1(t, p, classes).mean())


def per_class_f1(t: np.ndarray, p: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``(len(classes),)`` F1 = 2 tp / (2 tp + fp + fn), 0 where that is 0 / 0."""
    tp, n_true, n_pred = _class_counts(t, p, classes)
    den = (n_true + n_pred).astype(np.float64)
    return np.divide(2.0 * tp, den, out=np.zeros(len(classes)), where=den > 0)


def _class_counts(
    t: np.ndarray, p: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, true counts and predicted counts per class (p < 0 = no class)."""
    top = int(max(t.max(), p.max(), classes.max())) + 1
    if classes.min() >= 0 and top <= 4 * (len(t) + len(classes)) + 1024:
        # Small non-negative ids (node indices): count densely, no search needed.
        hit = t[t == p]
        counts = [np.bincount(x, minlength=top) for x in (hit, t, p[p >= 0])]
        return counts[0][classes], counts[1][classes], counts[2][classes]
    k = len(classes)
    ti, pi = _position(t, classes), _position(p, classes)
    tp = np.bincount(ti[(ti == pi) & (ti >= 0)], minlength=k)
    return tp, np.bincount(ti[ti >= 0], minlength=k), np.bincount(pi[pi >= 0], minlength=k)


def _position(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Position of each value in ``classes``, ``-1`` where absent."""
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]
    idx = np.clip(np.searchsorted(sorted_classes, values), 0, len(classes) - 1)
    return np.where(sorted_classes[idx] == values, order[idx], -1)


def recall_at_k(proba: Any, y_true_leaf_col: Any, k: int) -> float:
    """Share of items whose true leaf is among the ``k`` most probable columns.

    Ties are ordered like a stable sort by descending probability (lower column first),
    so ``recall_at_k(proba, y, 1) == leaf_accuracy(y, proba)``.
    """
    proba = check_proba(proba)
    y = check_leaf_cols(y_true_leaf_col, proba.shape[1])
    check_same_length(("proba", proba), ("y_true_leaf_col", y))
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return float(np.mean(true_rank(proba, y) < k))


def true_rank(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(n,)`` 0-based rank of the true column in each row (0 = the argmax); a column
    tied with the true one is ahead when it comes first."""
    rank = np.empty(len(y), dtype=np.int64)
    for s in chunks(len(y)):
        block, yt = proba[s], y[s]
        p_true = block[np.arange(len(yt)), yt][:, None]
        above = np.count_nonzero(block > p_true, axis=1)
        tied = np.count_nonzero(block == p_true, axis=1) > 1
        if tied.any():  # rare with real probabilities; exact only where needed
            before = np.arange(block.shape[1]) < yt[tied, None]
            above[tied] += np.count_nonzero((block[tied] == p_true[tied]) & before, axis=1)
        rank[s] = above
    return rank


def confusion_pairs(
    tree: Tree, y_true_node: Any, y_pred_node: Any, top: int = 20
) -> list[tuple[int, int, int]]:
    """The most frequent (true leaf, predicted leaf) mistakes.

    Items whose true or predicted node is not a leaf (or is an abstain) are left out.

    Returns:
        up to ``top`` tuples ``(true_node, pred_node, count)``, most frequent first, ties
        by true node then predicted node index. Direction matters: (Shirts -> Tshirts) and
        (Tshirts -> Shirts) are two entries.
    """
    t = check_nodes(tree, y_true_node, "y_true_node")
    p = check_nodes(tree, y_pred_node, "y_pred_node", allow_abstain=True)
    check_same_length(("y_true_node", t), ("y_pred_node", p))
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 0:
        raise ValueError(f"top must be an integer >= 0, got {top!r}")
    wrong = (p >= 0) & (t != p)
    wrong &= (tree.leaf_index[t] >= 0) & (tree.leaf_index[np.maximum(p, 0)] >= 0)
    codes, counts = np.unique(t[wrong] * tree.n_nodes + p[wrong], return_counts=True)
    order = np.lexsort((codes, -counts))[:top]
    return [
        (int(c // tree.n_nodes), int(c % tree.n_nodes), int(n))
        for c, n in zip(codes[order], counts[order], strict=True)
    ]
