"""Agreement figures on hand-made answers, and Krippendorff's published example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifier.agreement import (
    ancestor_at,
    cohen_kappa,
    krippendorff_alpha,
    pair_agreement,
    pairwise_kappa,
    tree_distance,
)
from classifier.tree import Tree


def tree() -> Tree:
    """A > {a1, a2}, B > {b1, b2}: nodes 0 A, 1 a1, 2 a2, 3 B, 4 b1, 5 b2."""
    return Tree.from_paths([["A", "a1"], ["A", "a2"], ["B", "b1"], ["B", "b2"]])


def test_ancestors_and_distances_on_the_tree() -> None:
    t = tree()
    assert ancestor_at(t, 1).tolist() == [0, 0, 0, 3, 3, 3]
    assert ancestor_at(t, 2).tolist() == [-1, 1, 2, -1, 4, 5]
    assert tree_distance(t, 1, 1) == 0
    assert tree_distance(t, 1, 2) == 2  # siblings
    assert tree_distance(t, 1, 0) == 1  # a leaf and its parent
    assert tree_distance(t, 1, 4) == 4  # through the virtual root


def test_pair_agreement_at_the_leaf_and_at_the_top() -> None:
    t = tree()
    # item 0: a1, a1, a2 (3 pairs, 1 agrees); item 1: b1, a1 (1 pair, disagrees);
    # item 2: one answer (no pair).
    items = np.array([0, 0, 0, 1, 1, 2])
    nodes = np.array([1, 1, 2, 4, 1, 5])
    assert pair_agreement(t, items, nodes) == (0.25, 4)
    # At the top level item 0's three pairs all agree (A), item 1's does not.
    assert pair_agreement(t, items, nodes, depth=1) == (0.75, 4)
    # An answer at the top level itself (A) is left out of depth 2.
    share, pairs = pair_agreement(t, np.array([0, 0, 0]), np.array([0, 1, 1]), depth=2)
    assert (share, pairs) == (1.0, 1)


def krippendorff_example() -> tuple[np.ndarray, np.ndarray]:
    """Three coders, 15 units, NaN = no answer (Krippendorff's alpha, Wikipedia's example)."""
    data = [
        [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
        [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
        [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
    ]
    rows = [(u, v) for coder in data for u, v in enumerate(coder) if v is not None]
    items, values = (np.array(c) for c in zip(*rows, strict=True))
    return items, values


def test_alpha_matches_the_published_example() -> None:
    items, values = krippendorff_example()
    assert krippendorff_alpha(None, items, values, "nominal") == pytest.approx(0.691358, abs=1e-6)
    assert krippendorff_alpha(None, items, values, "interval") == pytest.approx(0.810845, abs=1e-6)


def test_alpha_with_the_tree_distance_by_hand() -> None:
    t = tree()
    # item 0: a1, a2 (distance 2); item 1: b1, b1 (0). Coincidences: (a1,a2), (a2,a1), (b1,b1) x2.
    # n_c: a1 1, a2 1, b1 2; n = 4. D_o = (2 + 2) / 4 = 1.
    # D_e = sum n_c n_k d_ck / (n (n - 1)): pairs a1-a2 2*(1*1*2), a1-b1 2*(1*2*4), a2-b1 the same
    # = 4 + 16 + 16 = 36, / 12 = 3. alpha = 1 - 1/3.
    alpha = krippendorff_alpha(t, np.array([0, 0, 1, 1]), np.array([1, 2, 4, 4]))
    assert alpha == pytest.approx(2 / 3)
    # Nominally the sibling mix-up is a full disagreement: D_o = 2/4, D_e = (2 + 4 + 4) / 12.
    nominal = krippendorff_alpha(t, np.array([0, 0, 1, 1]), np.array([1, 2, 4, 4]), "nominal")
    assert nominal == pytest.approx(1 - 0.5 / (10 / 12))


def test_alpha_is_undefined_without_pairs_or_without_variety() -> None:
    assert math.isnan(krippendorff_alpha(tree(), np.array([0, 1]), np.array([1, 2])))
    assert math.isnan(krippendorff_alpha(tree(), np.array([0, 0]), np.array([1, 1])))
    with pytest.raises(ValueError, match="unknown metric"):
        krippendorff_alpha(tree(), np.array([0, 0]), np.array([1, 2]), "cosine")


def test_cohen_kappa_by_hand() -> None:
    # 10 items: agree on 7. Rater a says x 6 times, b 5 times: p_e = .6*.5 + .4*.5 = .5.
    a = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 2])
    b = np.array([1, 1, 1, 1, 2, 2, 1, 2, 2, 2])
    assert cohen_kappa(a, b) == pytest.approx((0.7 - 0.5) / 0.5)
    assert math.isnan(cohen_kappa(np.array([1, 1]), np.array([1, 1])))


def test_pairwise_kappa_pairs_reviewers_on_shared_items() -> None:
    items = np.array([0, 0, 1, 1, 2, 2, 3])
    reviewers = np.array([0, 1, 0, 1, 0, 2, 2])
    nodes = np.array([1, 1, 2, 4, 1, 1, 5])
    out = pairwise_kappa(items, reviewers, nodes)
    assert set(out) == {(0, 1), (0, 2)}
    assert out[(0, 1)][1] == 2 and out[(0, 2)][1] == 1
    # (0, 1): a = [1, 2], b = [1, 4]: p_o = 1/2, p_e = 1/2*1/2 = 1/4 -> (1/2 - 1/4) / (3/4).
    assert out[(0, 1)][0] == pytest.approx(1 / 3)
