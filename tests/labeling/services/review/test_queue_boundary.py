"""queue_candidates.boundary_margins: the queue's stored top-k, mapped from category ids, gives the
dense computation's answer (``classifier.acquisition.topk``: ``dense_leaf_proba`` then
``hierarchical_margin``); the sparse path must pick the same sibling pairs with the same
margins, only faster."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.acquisition import hierarchical_margin, topk
from classifier.tree import Tree
from labeling.services.learning.ml import VersionTree
from labeling.services.review import queue_candidates

K = 4


def _tree() -> Tree:
    """Uneven depths and fan-outs, leaves at depths 1 to 4, single children included."""
    paths = [
        ["Solo"],
        ["A", "A1"],
        ["A", "A2", "A2x"],
        ["A", "A2", "A2y"],
        ["B", "B1", "B1a", "Bz"],
    ]
    paths += [["C", f"C{i}"] for i in range(6)] + [["C", "C9", f"C9{i}"] for i in range(4)]
    paths += [["D", "D1", "D1a"]]
    return Tree.from_paths(paths)


def _pool(vtree: VersionTree, n: int, seed: int) -> queue_candidates.CandidatePool:
    """Predictions as rescore stores them: distinct top-k leaves, p summing to at most 1,
    some rows padded with -1 and some naming an inner node (not a leaf of the tree)."""
    rng = np.random.default_rng(seed)
    tree = vtree.tree
    leaf_ids = vtree.category_ids[tree.leaves]
    cats = np.stack([rng.choice(leaf_ids, K, replace=False) for _ in range(n)])
    cats[::5, K - 1] = -1
    cats[::7, K - 2] = vtree.category_ids[tree.index_of("C")]
    p = rng.dirichlet(np.full(K, 0.4), n) * rng.uniform(0.6, 1.0, (n, 1))
    zeros = np.zeros(n)
    return queue_candidates.CandidatePool(
        item_ids=np.arange(n),
        confidence=zeros,
        margin=zeros,
        disagreement=zeros,
        novelty=zeros,
        top_cat=cats[:, 0],
        cand_cats=cats,
        cand_p=p.astype(np.float32),
        label_cat=np.full(n, -1),
        accepted=np.zeros(n, dtype=bool),
    )


def _dense(pool: queue_candidates.CandidatePool, vtree: VersionTree, threshold: float) -> tuple:
    tree = vtree.tree
    leaf_col = np.full(int(vtree.category_ids.max()) + 2, -1, dtype=np.int64)
    leaf_col[vtree.category_ids[tree.leaves]] = np.arange(tree.n_leaves)
    cols = topk.leaf_columns(pool.cand_cats, leaf_col)
    return hierarchical_margin(
        tree, topk.dense_leaf_proba(cols, pool.cand_p, tree.n_leaves), threshold
    )


@pytest.mark.parametrize("threshold", [0.5, 0.85])
def test_sparse_boundary_matches_the_dense_computation(settings, threshold):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "DECISION_THRESHOLD": threshold}
    tree = _tree()
    vtree = VersionTree(tree=tree, category_ids=np.arange(tree.n_nodes) * 3 + 10)
    pool = _pool(vtree, 3000, seed=1)
    margins, pairs = queue_candidates.boundary_margins(pool, vtree)
    want_margins, want_pairs = _dense(pool, vtree, threshold)
    np.testing.assert_allclose(margins, want_margins, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(pairs, want_pairs)
    # Not vacuous: the walk stops at several depths, and some items have no runner-up.
    assert len(np.unique(tree.depth[pairs[:, 0]])) >= 3
    assert (pairs[:, 1] == -1).any() and (margins > 0).any()


def test_a_prediction_without_any_known_leaf_spreads_its_mass_evenly():
    """Every candidate unknown: each of the 16 leaves gets 1/16, so the walk follows leaf
    counts and stops at the top level (10/16 is below the 0.85 threshold)."""
    tree = _tree()
    vtree = VersionTree(tree=tree, category_ids=np.arange(tree.n_nodes) * 3 + 10)
    pool = _pool(vtree, 2, seed=2)
    pool.cand_cats[:] = -1
    margins, pairs = queue_candidates.boundary_margins(pool, vtree)
    # Top level: C has 10 of the 16 leaves, A has 3: p = 10/16 and 3/16.
    assert tree.index_of("C") == pairs[0, 0] and tree.index_of("A") == pairs[0, 1]
    assert margins[0] == pytest.approx(7 / 16)
