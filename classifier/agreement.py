"""Agreement between reviewers who answered the same items, on the tree and by chance.

Answers are rows ``(item, reviewer, node)`` over a :class:`~classifier.tree.Tree`; an item with
one answer says nothing about agreement and is left out of every figure.

- :func:`pair_agreement`: the share of pairs of answers on one item that agree, at the leaf (the
  same node) or at a depth (the same ancestor there; answers above that depth are left out).
- :func:`krippendorff_alpha`: ``1 - D_o / D_e`` (K. Krippendorff, "Computing Krippendorff's
  alpha-reliability", 2011), any number of reviewers, missing answers allowed, with a distance
  between answers: ``"nominal"`` (0 or 1) or ``"tree"`` (edges between the two nodes through
  their lowest common ancestor, so "Shirts" against "T-shirts" costs less than against "Shoes").
  1 is perfect agreement, 0 what chance gives, below 0 systematic disagreement.
- :func:`cohen_kappa`: two reviewers on the items both answered, ``(p_o - p_e) / (1 - p_e)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np

from classifier.tree import Tree


def _by_item(items: np.ndarray, nodes: np.ndarray) -> list[np.ndarray]:
    """The answers (nodes) of each item with two or more, one array per item."""
    items, nodes = np.asarray(items), np.asarray(nodes)
    order = np.argsort(items, kind="stable")
    groups = np.split(nodes[order], np.flatnonzero(np.diff(items[order])) + 1)
    return [g for g in groups if len(g) >= 2]


def ancestor_at(tree: Tree, depth: int) -> np.ndarray:
    """``(n_nodes,)`` each node's ancestor at ``depth`` (the node itself there), or -1 for a
    node above it. Depth 1 is the top level, as ``Tree.depth`` counts."""
    out = np.full(tree.n_nodes, -1, dtype=np.int64)
    for node in range(tree.n_nodes):
        path = tree.path(node)
        if len(path) >= depth >= 1:
            out[node] = path[depth - 1]
    return out


def pair_agreement(
    tree: Tree, items: np.ndarray, nodes: np.ndarray, depth: int | None = None
) -> tuple[float, int]:
    """``(share of agreeing pairs, number of pairs)``; NaN share when there are no pairs.
    ``depth=None``: the same node; a depth: the same ancestor at that depth."""
    mapped = np.asarray(nodes) if depth is None else ancestor_at(tree, depth)[np.asarray(nodes)]
    agree = total = 0
    for answers in _by_item(items, mapped):
        for a, b in combinations(answers[answers >= 0].tolist(), 2):
            total += 1
            agree += a == b
    return (agree / total if total else float("nan")), total


def tree_distance(tree: Tree, a: int, b: int) -> int:
    """Edges between nodes ``a`` and ``b`` through their lowest common ancestor (two nodes in
    different root trees: through a virtual root above them)."""
    pa, pb = tree.path(a), tree.path(b)
    common = 0
    while common < min(len(pa), len(pb)) and pa[common] == pb[common]:
        common += 1
    return (len(pa) - common) + (len(pb) - common)


def krippendorff_alpha(
    tree: Tree | None, items: np.ndarray, nodes: np.ndarray, metric: str = "tree"
) -> float:
    """Krippendorff's alpha of the answers; NaN when no item has two answers or every answer
    is the same value (no disagreement is possible). ``metric``: ``"tree"`` (needs ``tree``)
    or ``"nominal"``."""
    groups = _by_item(items, nodes)
    values = np.unique(np.concatenate(groups)) if groups else np.zeros(0, np.int64)
    if len(values) < 2:
        return float("nan")
    index = {int(v): i for i, v in enumerate(values)}
    coincidence = np.zeros((len(values), len(values)))
    for answers in groups:
        cols = np.array([index[int(v)] for v in answers])
        counts = np.bincount(cols, minlength=len(values)).astype(float)
        # Ordered pairs of different answers within the item, each weighted 1 / (m - 1).
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (len(answers) - 1)
    delta = distance_matrix(tree, values, metric)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    observed = (coincidence * delta).sum() / n
    expected = (np.outer(n_c, n_c) * delta).sum() / (n * (n - 1))
    return float(1.0 - observed / expected) if expected > 0 else float("nan")


def distance_matrix(tree: Tree | None, values: np.ndarray, metric: str) -> np.ndarray:
    """``(v, v)`` distances between the answer values: ``"nominal"`` 0/1, ``"tree"`` edges,
    ``"interval"`` squared difference of the values themselves (Krippendorff's interval)."""
    v = np.asarray(values)
    if metric == "nominal":
        return (v[:, None] != v[None, :]).astype(float)
    if metric == "interval":
        return (v[:, None] - v[None, :]).astype(float) ** 2
    if metric == "tree":
        if tree is None:
            raise ValueError("the tree metric needs the tree")
        return np.array([[tree_distance(tree, int(a), int(b)) for b in v] for a in v], float)
    raise ValueError(f"unknown metric {metric!r}: choose nominal, tree or interval")


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two reviewers' answers on the same items (``a[i]`` and ``b[i]``);
    NaN without items or when chance agreement is already 1."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b):
        raise ValueError("a and b must answer the same items")
    if not len(a):
        return float("nan")
    observed = float((a == b).mean())
    values = np.union1d(a, b)
    expected = float(sum((a == v).mean() * (b == v).mean() for v in values))
    return (observed - expected) / (1.0 - expected) if expected < 1.0 else float("nan")


def pairwise_kappa(
    items: np.ndarray, reviewers: np.ndarray, nodes: np.ndarray
) -> Mapping[tuple[int, int], tuple[float, int]]:
    """``{(r1, r2): (kappa, items both answered)}`` for every pair of reviewers who share an
    item (``r1 < r2``; a reviewer's later answer on an item replaces an earlier one)."""
    answer: dict[int, dict[int, int]] = {}
    for i, r, v in zip(
        np.asarray(items).tolist(),
        np.asarray(reviewers).tolist(),
        np.asarray(nodes).tolist(),
        strict=True,
    ):
        answer.setdefault(r, {})[i] = v
    out: dict[tuple[int, int], tuple[float, int]] = {}
    for r1, r2 in combinations(sorted(answer), 2):
        shared = sorted(answer[r1].keys() & answer[r2].keys())
        if shared:
            a = np.array([answer[r1][i] for i in shared])
            b = np.array([answer[r2][i] for i in shared])
            out[(r1, r2)] = (cohen_kappa(a, b), len(shared))
    return out
