"""Node probabilities laid out by depth, for fast per-depth scans over many rows.

``Tree.node_proba`` multiplies by the dense ``(n_leaves, n_nodes)`` membership matrix.
Here leaves are copied instead and only inner nodes are summed, and columns are ordered
by depth, so "best node at depth d" is an ``argmax`` over a contiguous column slice:
roll-up and the hierarchical margin stay at a few passes over the data for 10^6 items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifier.tree import Tree


@dataclass(frozen=True)
class DepthLayout:
    """Column layout of depth-ordered node probabilities.

    Attributes:
        nodes: ``(n_nodes,)`` node index of each column, by depth then node index.
        bounds: ``(max_depth + 1,)`` columns ``bounds[d - 1]:bounds[d]`` hold depth ``d``.
        parents: ``(n_nodes,)`` parent node of each column (``-1`` at depth 1).
        leaf_cols, leaf_pos: leaf column ``leaf_cols[i]`` of ``proba`` goes to column
            ``leaf_pos[i]``.
        inner_pos: columns of the inner nodes; ``inner_sum`` ``(n_leaves, n_inner)`` sums
            leaf probabilities into them.
    """

    nodes: np.ndarray
    bounds: np.ndarray
    parents: np.ndarray
    leaf_cols: np.ndarray
    leaf_pos: np.ndarray
    inner_pos: np.ndarray
    inner_sum: np.ndarray

    def node_proba(self, proba: np.ndarray) -> np.ndarray:
        """``(c, n_leaves)`` leaf probabilities -> ``(c, n_nodes)`` node probabilities in
        this layout's column order (same float dtype as ``proba``)."""
        dtype = proba.dtype if proba.dtype.kind == "f" else np.dtype(np.float64)
        out = np.empty((proba.shape[0], len(self.nodes)), dtype=dtype)
        out[:, _as_slice(self.leaf_pos)] = proba[:, _as_slice(self.leaf_cols)]
        if len(self.inner_pos):
            out[:, _as_slice(self.inner_pos)] = proba @ self.inner_sum.astype(dtype)
        return out

    def depth_slice(self, d: int) -> slice:
        return slice(int(self.bounds[d - 1]), int(self.bounds[d]))


def depth_layout(tree: Tree) -> DepthLayout:
    """The depth-ordered column layout of ``tree``."""
    nodes = np.lexsort((np.arange(tree.n_nodes), tree.depth))
    position = np.empty(tree.n_nodes, dtype=np.int64)
    position[nodes] = np.arange(tree.n_nodes)
    bounds = np.searchsorted(tree.depth[nodes], np.arange(1, tree.max_depth + 2), side="left")
    is_leaf = tree.leaf_index[nodes] >= 0
    inner = nodes[~is_leaf]
    leaf_pos = position[tree.leaves]
    order = np.argsort(leaf_pos, kind="stable")  # write leaf columns in ascending order
    return DepthLayout(
        nodes=nodes,
        bounds=bounds,
        parents=tree.parents[nodes],
        leaf_cols=order,
        leaf_pos=leaf_pos[order],
        inner_pos=np.flatnonzero(~is_leaf),
        inner_sum=tree.leaf_membership[inner].T.astype(np.float64),
    )


def _as_slice(idx: np.ndarray) -> slice | np.ndarray:
    """A run of consecutive indices as a slice: slicing columns avoids a gather copy."""
    if len(idx) and (np.diff(idx) == 1).all():
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx
