"""Hierarchical margin: uncertainty at the level of the tree the model is still deciding.

Walking down from the top, the model is "decided" on a node while that node's
probability clears the threshold of its depth and no sibling clears it too. The first level where the best child does
not clear it is where the model hesitates, and the margin between the two best *siblings*
there ("Shirts or Tshirts?") is the uncertainty that a reviewer can resolve. A flat margin
over leaves mixes this up with spread further down the tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classifier.metrics.nodes import DepthLayout, depth_layout
from classifier.metrics.rollup import depth_thresholds
from classifier.tree import Tree

from .base import Strategy, check_proba_rows, gather_proba

_CHUNK_ROWS = 65_536  # bounds the (rows, n_nodes) node-probability block in memory


def hierarchical_margin(
    tree: Tree, proba: np.ndarray, thresholds: float | Sequence[float] = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Margin between the two best siblings at the level the model is deciding.

    Args:
        tree: the category tree; ``proba`` columns follow ``tree.leaves``.
        proba: ``(n, n_leaves)`` leaf probabilities.
        thresholds: probability a node needs for the walk to go below it; one float, or
            one per depth (``tree.max_depth`` values, depth 1 first). The default 0.5 walks
            down majority decisions (a node above 0.5 outweighs all its siblings together);
            pass the model's roll-up thresholds to measure the margin just below the node
            the roll-up would answer with.

    Returns:
        ``margin`` ``(n,)`` float64, ``p(top) - p(runner-up)``, and ``pairs`` ``(n, 2)``
        int64 node indices ``(top, runner-up)``; the runner-up is ``-1`` (probability 0)
        when the top node has no sibling. When the walk reaches a leaf, the pair is that
        leaf and its best sibling.
    """
    proba = np.asarray(proba)
    if proba.ndim != 2 or proba.shape[1] != tree.n_leaves:
        raise ValueError(f"proba must have shape (n, {tree.n_leaves}), got {proba.shape}")
    check_proba_rows(proba)
    return _hierarchical_margin(tree, proba, depth_thresholds(tree, thresholds))


def _hierarchical_margin(
    tree: Tree, proba: np.ndarray, thr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = proba.shape[0]
    layout = depth_layout(tree)
    is_leaf = tree.leaf_index[layout.nodes] >= 0
    margins = np.zeros(n, dtype=np.float64)
    pairs = np.full((n, 2), -1, dtype=np.int64)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n)
        node_p = layout.node_proba(proba[start:stop])
        margins[start:stop], pairs[start:stop] = margin_walk(layout, is_leaf, node_p, thr)
    return margins, pairs


def margin_walk(
    layout: DepthLayout, is_leaf: np.ndarray, node_p: np.ndarray, thr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The hierarchical margin's top-down walk over ``(c, n_nodes)`` node probabilities in
    ``layout`` order (``layout.node_proba``, or ``topk.sparse_node_proba`` from a stored
    top-k): ``(margins, pairs)`` as ``hierarchical_margin`` returns them. ``is_leaf``: per
    layout column; ``thr``: one threshold per depth (``depth_thresholds``)."""
    c = node_p.shape[0]
    current = np.full(c, -1, dtype=np.int64)  # -1 = the imaginary root above depth 1
    done = np.zeros(c, dtype=bool)
    margins = np.zeros(c, dtype=np.float64)
    pairs = np.full((c, 2), -1, dtype=np.int64)
    for d in range(1, len(layout.bounds)):
        cols = layout.depth_slice(d)
        top, second, p_top, p_second = _best_two_children(
            node_p[:, cols], layout.parents[cols] == current[:, None]
        )
        active = ~done
        margins[active] = (p_top - p_second)[active]
        pairs[active, 0] = layout.nodes[cols][top[active]]
        pairs[active, 1] = np.where(second >= 0, layout.nodes[cols][second], -1)[active]
        current = np.where(active, pairs[:, 0], current)
        # Two siblings that both clear a threshold <= 0.5 (a tie at 0.5) are not a
        # decision: stay at this level, where the margin shows the hesitation.
        undecided = (p_top < thr[d - 1]) | (p_second >= thr[d - 1])
        done |= active & (undecided | is_leaf[cols][top])
        if done.all():
            break
    return margins, pairs


def _best_two_children(
    block: np.ndarray, is_child: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best and second-best column of ``block`` among each row's children (ties: lowest
    column); a missing second child gives column -1 with probability 0. Rows without
    any child give garbage that the caller ignores."""
    masked = np.where(is_child, block, -np.inf)
    r = np.arange(block.shape[0])
    i1 = masked.argmax(axis=1)
    p1 = masked[r, i1].astype(np.float64)
    masked[r, i1] = -np.inf
    i2 = masked.argmax(axis=1)
    p2 = masked[r, i2].astype(np.float64)
    has_second = np.isfinite(p2)
    return i1, np.where(has_second, i2, -1), p1, np.where(has_second, p2, 0.0)


class HierarchicalMargin(Strategy):
    """Wants items whose two best sibling categories, at the level the model is
    deciding, are closest: score ``1 - margin`` (see ``hierarchical_margin``).

    ``select(proba, candidates, n)`` with leaf ``proba`` ``(N, n_leaves)``.

    Attributes:
        last_pairs_: ``(len(candidates),)`` x 2 int64 node indices behind each score,
            ``(top, runner-up)``, so the queue can say "Shirts or Tshirts?".
    """

    name = "hierarchical_margin"
    last_pairs_: np.ndarray

    def __init__(self, tree: Tree, thresholds: float | Sequence[float] = 0.5) -> None:
        self.tree = tree
        self.thresholds = thresholds

    def _gather(self, data: Any, cand: np.ndarray) -> np.ndarray:
        rows = gather_proba(data, cand)
        if rows.shape[1] != self.tree.n_leaves:
            raise ValueError(
                f"proba must have {self.tree.n_leaves} columns (the tree's leaves), "
                f"got {rows.shape[1]}"
            )
        return rows

    def _score(self, rows: np.ndarray) -> np.ndarray:
        thr = depth_thresholds(self.tree, self.thresholds)
        margins, self.last_pairs_ = _hierarchical_margin(self.tree, rows, thr)
        return 1.0 - margins
