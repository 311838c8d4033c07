"""The hierarchical training loss: partial-label NLL plus an expected tree distance."""

from __future__ import annotations

import numpy as np
import torch

from classifier.tree import Tree


def node_leaf_distance(tree: Tree, normalise: bool = True) -> np.ndarray:
    """``(n_nodes, n_leaves)`` float32 edges from each leaf to the nearest leaf under each node.

    For a leaf node this is ``tree.leaf_distance()``; for an inner node the leaves under it are
    0 away, so an inner-node label only penalises mass that left its subtree. With
    ``normalise`` the values are divided by the largest leaf distance so ``tree_loss_weight``
    means the same on a 3-level and a 7-level taxonomy.
    """
    member = tree.leaf_membership  # (n_nodes, n_leaves)
    anc = tree.ancestors.astype(np.float32)  # (n_nodes, n_nodes), anc[a, v]: a is v or above it
    lca_depth = anc.T @ anc[:, tree.leaves]  # shared ancestors of node v and leaf j
    leaf_depth = tree.depth[tree.leaves].astype(np.float32)
    # Height from a node down to its shallowest leaf: the walk ends there, not at the node.
    depth_below = np.where(member, leaf_depth[None, :], np.inf).min(axis=1)
    height = depth_below - tree.depth
    dist = leaf_depth[None, :] + tree.depth[:, None] - 2 * lca_depth + height[:, None]
    dist = np.where(member, 0.0, dist).astype(np.float32)
    if normalise and tree.leaf_distance().max() > 0:
        dist /= float(tree.leaf_distance().max())
    return dist


def node_log_mask(tree: Tree) -> np.ndarray:
    """``(n_nodes, n_leaves)`` float32: 0 where the leaf is under the node, -inf elsewhere."""
    return np.where(tree.leaf_membership, 0.0, -np.inf).astype(np.float32)


def class_weights(counts: np.ndarray, power: float) -> np.ndarray:
    """Per-class weights ``∝ count**-power``, scaled so the mean weight per *sample* is 1.

    Classes without samples get weight 0. ``power=0`` is unweighted, ``power=1`` fully balanced.
    """
    counts = np.asarray(counts, dtype=np.float64)
    w = np.zeros_like(counts)
    seen = counts > 0
    w[seen] = counts[seen] ** -power
    total = (counts * w).sum()
    if total > 0:
        w *= counts.sum() / total
    return w.astype(np.float32)


def hierarchical_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    log_mask: torch.Tensor,
    distance: torch.Tensor,
    tree_weight: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over rows of ``w_y * (-log P(y) + tree_weight * sum_j p_j dist(j, y))``.

    Args:
        logits: ``(n, n_leaves)``.
        labels: ``(n,)`` node indices; ``P(y)`` sums the leaves under an inner node.
        log_mask: ``(n_nodes, n_leaves)`` from :func:`node_log_mask`.
        distance: ``(n_nodes, n_leaves)`` from :func:`node_leaf_distance`.
        weights: optional ``(n,)`` per-row weights.
    """
    logp = torch.log_softmax(logits, dim=1)
    log_py = torch.logsumexp(logp + log_mask[labels], dim=1)
    expected_distance = (logp.exp() * distance[labels]).sum(dim=1)
    per_row = -log_py + tree_weight * expected_distance
    if weights is not None:
        per_row = per_row * weights
    return per_row.mean()
