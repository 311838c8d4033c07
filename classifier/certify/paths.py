"""Predicted paths and what a confidence threshold accepts on them.

An item's predicted path is walked top-down: the most probable top-level node, then its most
probable child, down to a leaf. Node probabilities only fall along it (a node holds the sum
of its children), so a threshold ``t`` accepts the item at the deepest path node whose
probability is ``>= t``, and accepts it somewhere exactly when the top-level node clears.
For ``t > 0.5`` this is the roll-up's decision (``classifier.metrics.rollup``): at most one
node per depth can clear, and it lies on this path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifier.tree import Tree

CHUNK_ROWS = 1024  # (rows, nodes at one depth) masks stay a few MB on big taxonomies
NO_NODE = -1


@dataclass(frozen=True)
class Paths:
    """``nodes`` ``(n, max_depth)`` path node per depth (``-1`` past the leaf) and
    ``proba`` ``(n, max_depth)`` float64 their probabilities (0 past the leaf)."""

    nodes: np.ndarray
    proba: np.ndarray

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def leaf(self) -> np.ndarray:
        """``(n,)`` the last node of each path."""
        last = (self.nodes >= 0).sum(axis=1) - 1
        return self.nodes[np.arange(len(self.nodes)), last]

    def accepted(self, threshold: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """``(n,)`` node each item is accepted at under ``threshold`` (a scalar or one per
        item; -1: not accepted) and ``(n,)`` that node's probability (the leaf's when not
        accepted)."""
        t = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (len(self),))
        clears = (self.nodes >= 0) & (self.proba >= t[:, None])
        # Probabilities fall along the path: the deepest clearing column, robust to ties.
        depth_index = np.where(clears, np.arange(clears.shape[1])[None, :], -1).max(axis=1)
        rows = np.arange(len(self))
        leaf_index = (self.nodes >= 0).sum(axis=1) - 1
        column = np.where(depth_index >= 0, depth_index, leaf_index)
        node = np.where(depth_index >= 0, self.nodes[rows, column], NO_NODE)
        return node, self.proba[rows, column]


def predicted_paths(tree: Tree, proba: np.ndarray) -> Paths:
    """Top-down most probable paths of ``(n, n_leaves)`` leaf probabilities."""
    proba = np.asarray(proba)
    if proba.ndim != 2 or proba.shape[1] != tree.n_leaves:
        raise ValueError(f"proba must have shape (n, {tree.n_leaves}), got {proba.shape}")
    nodes = np.full((len(proba), tree.max_depth), NO_NODE, dtype=np.int64)
    probs = np.zeros((len(proba), tree.max_depth), dtype=np.float64)
    by_depth = [np.flatnonzero(tree.depth == d) for d in range(1, tree.max_depth + 1)]
    for start in range(0, len(proba), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        node_p = tree.node_proba(proba[rows]).astype(np.float64)
        current = np.full(node_p.shape[0], NO_NODE, dtype=np.int64)
        for d, level in enumerate(by_depth):
            below = tree.parents[level][None, :] == current[:, None]  # top level: parent -1
            scores = np.where(below, node_p[:, level], -1.0)
            best = scores.argmax(axis=1)
            found = below[np.arange(len(best)), best]
            current = np.where(found, level[best], NO_NODE)
            nodes[rows, d] = current
            probs[rows, d] = np.where(found, node_p[np.arange(len(best)), current], 0.0)
            if not found.any():
                break
    return Paths(nodes=nodes, proba=probs)
