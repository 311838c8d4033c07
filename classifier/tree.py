"""The category tree as arrays: the one shape every part of ``classifier`` agrees on.

Nodes are numbered ``0..n_nodes-1``. Top-level nodes have parent ``-1`` (there is no
explicit root node). Leaves are the nodes without children; a model's softmax has one
column per leaf, in the order of ``Tree.leaves``. Labels may name any node: a leaf, or an
inner node when a reviewer was only sure down to there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

NO_PARENT = -1


@dataclass(frozen=True, eq=False)
class Tree:
    """A rooted forest of categories.

    Args:
        keys: stable identifier of each node (length ``n_nodes``), unique.
        parents: ``(n_nodes,)`` int array, the parent index of each node or ``-1``.
        names: display name of each node; defaults to the key.
    """

    keys: tuple[str, ...]
    parents: np.ndarray
    names: tuple[str, ...] = ()
    # Derived in __post_init__.
    children: tuple[tuple[int, ...], ...] = field(init=False, repr=False)
    depth: np.ndarray = field(init=False, repr=False)
    leaves: np.ndarray = field(init=False, repr=False)
    leaf_index: np.ndarray = field(init=False, repr=False)
    ancestors: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parents = np.asarray(self.parents, dtype=np.int64)
        n = len(self.keys)
        if parents.shape != (n,):
            raise ValueError(f"parents must have shape ({n},), got {parents.shape}")
        if len(set(self.keys)) != n:
            raise ValueError("node keys must be unique")
        if n == 0:
            raise ValueError("a tree needs at least one node")
        if ((parents < NO_PARENT) | (parents >= n)).any():
            raise ValueError("parents must be -1 or a node index")
        names = tuple(self.names) if self.names else tuple(self.keys)
        if len(names) != n:
            raise ValueError("names must have one entry per node")
        children: list[list[int]] = [[] for _ in range(n)]
        for node, parent in enumerate(parents):
            if parent != NO_PARENT:
                children[parent].append(node)
        depth = _depths(parents)
        leaves = np.array([i for i in range(n) if not children[i]], dtype=np.int64)
        leaf_index = np.full(n, -1, dtype=np.int64)
        leaf_index[leaves] = np.arange(len(leaves))
        ancestors = _ancestor_matrix(parents, depth)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "children", tuple(tuple(c) for c in children))
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "leaves", leaves)
        object.__setattr__(self, "leaf_index", leaf_index)
        object.__setattr__(self, "ancestors", ancestors)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_paths(cls, paths: Iterable[Sequence[str]], sep: str = " > ") -> Tree:
        """Build a tree from category paths such as ``["Apparel", "Topwear", "Shirts"]``.

        Every prefix of a path becomes a node; a node's key is its full path joined by
        ``sep`` so that the same name under two parents stays two nodes.
        """
        index: dict[str, int] = {}
        keys: list[str] = []
        names: list[str] = []
        parents: list[int] = []
        for path in paths:
            parent = NO_PARENT
            for depth in range(1, len(path) + 1):
                key = sep.join(path[:depth])
                if key not in index:
                    index[key] = len(keys)
                    keys.append(key)
                    names.append(path[depth - 1])
                    parents.append(parent)
                parent = index[key]
        return cls(keys=tuple(keys), parents=np.array(parents, dtype=np.int64), names=tuple(names))

    # -- facts ----------------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        return len(self.keys)

    @property
    def n_leaves(self) -> int:
        return len(self.leaves)

    @property
    def max_depth(self) -> int:
        return int(self.depth.max())

    def index_of(self, key: str) -> int:
        """Node index of ``key``; raises ``KeyError`` naming the key when it is absent."""
        try:
            return self._key_index[key]
        except KeyError:
            raise KeyError(f"unknown category key: {key!r}") from None

    @property
    def _key_index(self) -> dict[str, int]:
        cached = self.__dict__.get("_key_index_cache")
        if cached is None:
            cached = {k: i for i, k in enumerate(self.keys)}
            self.__dict__["_key_index_cache"] = cached
        return cached

    def path(self, node: int) -> list[int]:
        """Node indices from the top level down to ``node`` (inclusive)."""
        out: list[int] = []
        while node != NO_PARENT:
            out.append(int(node))
            node = int(self.parents[node])
        return out[::-1]

    def is_leaf(self, node: int) -> bool:
        return bool(self.leaf_index[node] >= 0)

    def leaves_under(self, node: int) -> np.ndarray:
        """Leaf *column* indices (positions in ``leaves``) of the leaves below or at ``node``."""
        return np.flatnonzero(self.leaf_membership[node])

    # -- matrices --------------------------------------------------------------------------

    @property
    def leaf_membership(self) -> np.ndarray:
        """``(n_nodes, n_leaves)`` bool: ``M[v, j]`` is True when node ``v`` is leaf ``j`` or
        one of its ancestors. ``proba @ M.T`` turns leaf probabilities into node
        probabilities."""
        cached = self.__dict__.get("_membership_cache")
        if cached is None:
            cached = self.ancestors[:, self.leaves]
            self.__dict__["_membership_cache"] = cached
        return cached

    def node_proba(self, leaf_proba: np.ndarray) -> np.ndarray:
        """``(n, n_leaves)`` leaf probabilities → ``(n, n_nodes)`` node probabilities
        (an inner node's probability is the sum over its leaves).

        Leaf columns are copied and only inner nodes are summed, through a sparse 0/1 matrix
        (a leaf has a handful of ancestors): on the Google Product Taxonomy (5,595 nodes, 876
        inner) 2.3 ms for 550 rows against 36 ms for the dense product, the same sums up to
        float rounding.
        """
        proba = np.asarray(leaf_proba)
        dtype = proba.dtype if proba.dtype.kind == "f" else np.dtype(np.float64)
        inner, inner_sum = self._inner_membership()
        out = np.empty((proba.shape[0], self.n_nodes), dtype=dtype)
        out[:, self.leaves] = proba
        if len(inner):
            out[:, inner] = proba @ inner_sum.astype(dtype, copy=False)
        return out

    def _inner_membership(self) -> tuple[np.ndarray, sparse.csr_array]:
        """Inner node indices and the ``(n_leaves, n_inner)`` sparse 0/1 matrix summing into
        them."""
        cached = self.__dict__.get("_inner_membership_cache")
        if cached is None:
            inner = np.flatnonzero(self.leaf_index < 0)
            cached = (inner, sparse.csr_array(self.leaf_membership[inner].T.astype(np.float32)))
            self.__dict__["_inner_membership_cache"] = cached
        return cached

    def leaf_distance(self) -> np.ndarray:
        """``(n_leaves, n_leaves)`` number of edges between two leaves through their lowest
        common ancestor (an imaginary root joins the top-level nodes). Siblings are 2 apart."""
        cached = self.__dict__.get("_leaf_distance_cache")
        if cached is None:
            # float32 matmul uses BLAS; counts stay exact far below 2**24.
            anc = self.leaf_membership.astype(np.float32)  # (nodes, leaves)
            common = (anc.T @ anc).astype(np.int32)  # shared ancestors = depth of the LCA
            d = self.depth[self.leaves].astype(np.int32)
            cached = d[:, None] + d[None, :] - 2 * common
            self.__dict__["_leaf_distance_cache"] = cached
        return cached


def _depths(parents: np.ndarray) -> np.ndarray:
    n = len(parents)
    depth = np.zeros(n, dtype=np.int64)
    for node in range(n):
        d, cur, seen = 0, node, 0
        while cur != NO_PARENT:
            d += 1
            cur = int(parents[cur])
            seen += 1
            if seen > n:
                raise ValueError("parents contain a cycle")
        depth[node] = d
    return depth


def _ancestor_matrix(parents: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``A[a, v]`` is True when ``a`` is ``v`` or an ancestor of ``v``."""
    n = len(parents)
    anc = np.eye(n, dtype=bool)
    # Process nodes top-down so a parent's column is complete before its children copy it.
    for node in np.argsort(depth, kind="stable"):
        parent = parents[node]
        if parent != NO_PARENT:
            anc[:, node] |= anc[:, parent]
    return anc
