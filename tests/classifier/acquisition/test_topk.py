"""classifier.acquisition.topk: the hierarchical margin from a stored top-k, sparsely."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.acquisition import hierarchical_margin
from classifier.acquisition.topk import (
    TreeShape,
    dense_leaf_proba,
    leaf_columns,
    sparse_node_proba,
    topk_hierarchical_margin,
)
from classifier.metrics.nodes import depth_layout
from classifier.tree import Tree

SEP = " > "


@pytest.fixture
def tree() -> Tree:
    """Two top nodes of two leaves each: leaves A1, A2, B1, B2 (columns 0–3)."""
    return Tree.from_paths([["A", "A1"], ["A", "A2"], ["B", "B1"], ["B", "B2"]])


def test_the_rest_of_the_mass_is_spread_evenly_over_the_other_leaves(tree):
    cols = np.array([[0, 2, -1]])  # A1 0.5, B1 0.3, padding
    p = np.array([[0.5, 0.3, 0.1]])
    # 0.2 left over for the two leaves not stored: 0.1 each.
    np.testing.assert_allclose(dense_leaf_proba(cols, p, 4), [[0.5, 0.1, 0.3, 0.1]])


def test_stored_probabilities_summing_past_one_are_rescaled(tree):
    np.testing.assert_allclose(
        dense_leaf_proba(np.array([[1, 3]]), np.array([[0.6, 0.5]]), 4),
        [[0.0, 0.6 / 1.1, 0.0, 0.5 / 1.1]],
    )


def test_sparse_node_probabilities_equal_the_dense_ones(tree):
    rng = np.random.default_rng(0)
    cols = np.stack([rng.choice(4, 2, replace=False) for _ in range(50)])
    cols[::3, 1] = -1
    p = rng.dirichlet([0.5, 0.5], 50) * rng.uniform(0.5, 1.0, (50, 1))
    layout = depth_layout(tree)
    want = layout.node_proba(dense_leaf_proba(cols, p, tree.n_leaves))
    got = sparse_node_proba(cols, p, TreeShape.of(tree, layout))
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_the_margin_is_between_the_two_best_siblings_where_the_walk_stops(tree):
    # A1 0.5, B1 0.3, rest 0.1 each on A2 and B2: A = 0.6, B = 0.4. At threshold 0.5 the walk
    # takes A, then hesitates between A1 (0.5) and A2 (0.1): margin 0.4. At 0.85 it stops at
    # the top level: A vs B, margin 0.2.
    cols, p = np.array([[0, 2]]), np.array([[0.5, 0.3]])
    a1, a2 = tree.index_of(f"A{SEP}A1"), tree.index_of(f"A{SEP}A2")
    a, b = tree.index_of("A"), tree.index_of("B")
    margins, pairs = topk_hierarchical_margin(tree, cols, p, 0.5)
    np.testing.assert_allclose(margins, [0.4])
    assert pairs.tolist() == [[a1, a2]]
    margins, pairs = topk_hierarchical_margin(tree, cols, p, 0.85)
    np.testing.assert_allclose(margins, [0.2])
    assert pairs.tolist() == [[a, b]]


def test_blocks_do_not_change_the_answer(tree):
    rng = np.random.default_rng(1)
    cols = np.stack([rng.choice(4, 3, replace=False) for _ in range(40)])
    p = rng.dirichlet([1, 1, 1], 40) * 0.9
    whole = topk_hierarchical_margin(tree, cols, p, 0.6)
    blocked = topk_hierarchical_margin(tree, cols, p, 0.6, block_rows=7)
    dense = hierarchical_margin(tree, dense_leaf_proba(cols, p, 4), 0.6)
    for got in (blocked, dense):
        np.testing.assert_allclose(got[0], whole[0], atol=1e-12)
        np.testing.assert_array_equal(got[1], whole[1])


def test_leaf_columns_map_ids_and_pad_unknown_ones():
    table = np.array([-1, 0, -1, 1])  # id 1 -> leaf 0, id 3 -> leaf 1
    assert leaf_columns(np.array([[1, 3, 2, -1, 99]]), table).tolist() == [[0, 1, -1, -1, -1]]


def test_mismatched_shapes_are_refused(tree):
    with pytest.raises(ValueError, match="alike"):
        topk_hierarchical_margin(tree, np.zeros((2, 3), int), np.zeros((2, 2)))
