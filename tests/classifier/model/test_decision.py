"""Roll-up decisions and uncertainty figures on hand-made probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from classifier.model import HierarchicalClassifier
from classifier.model.decision import uncertainty
from classifier.tree import Tree


def test_it_decides_the_deepest_node_that_clears_the_threshold(tree: Tree) -> None:
    model = HierarchicalClassifier(tree, thresholds=0.85)
    proba = np.array(
        [
            [0.90, 0.05, 0.03, 0.02],  # a1 clears → leaf
            [0.50, 0.40, 0.05, 0.05],  # only A (0.90) clears → inner node
            [0.40, 0.10, 0.30, 0.20],  # nothing clears → abstain
        ],
        dtype=np.float32,
    )
    expected = [tree.index_of("A > a1"), tree.index_of("A"), -1]
    assert model.decide(proba).tolist() == expected


def test_it_applies_one_threshold_per_depth(tree: Tree) -> None:
    proba = np.array([[0.70, 0.25, 0.03, 0.02]], dtype=np.float32)
    assert HierarchicalClassifier(tree, thresholds=[0.9, 0.6]).decide(proba).tolist() == [1]
    assert HierarchicalClassifier(tree, thresholds=[0.99, 0.8]).decide(proba).tolist() == [-1]


def test_it_refuses_thresholds_for_the_wrong_number_of_depths(tree: Tree) -> None:
    with pytest.raises(ValueError, match="one value per depth"):
        HierarchicalClassifier(tree, thresholds=[0.9, 0.8, 0.7]).decide(np.ones((1, 4)) / 4)


def test_it_reports_margin_entropy_and_committee_disagreement() -> None:
    members = torch.tensor([[[0.8, 0.2]], [[0.2, 0.8]]])  # two members, one row, two leaves
    stats = uncertainty(members, members.mean(0), k=1)
    assert stats["top_proba"].tolist() == [[0.5]]
    assert float(stats["margin"][0]) == pytest.approx(0.0)
    assert float(stats["entropy"][0]) == pytest.approx(math.log(2))
    assert float(stats["vote_entropy"][0]) == pytest.approx(math.log(2))
    kl = 0.8 * math.log(0.8 / 0.5) + 0.2 * math.log(0.2 / 0.5)
    assert float(stats["consensus_kl"][0]) == pytest.approx(kl, rel=1e-5)


def test_vote_entropy_counts_how_many_members_share_each_vote() -> None:
    # Three members, three rows: all agree; two against one; all differ.
    members = torch.zeros(3, 3, 4)
    for row, votes in enumerate(([1, 1, 1], [2, 2, 0], [0, 1, 3])):
        for member, leaf in enumerate(votes):
            members[member, row, leaf] = 1.0
    stats = uncertainty(members, members.mean(0), k=1)
    two_one = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert stats["vote_entropy"].tolist() == pytest.approx([0.0, two_one, math.log(3)])


def test_node_probabilities_sum_the_leaves_under_each_node(tree: Tree) -> None:
    proba = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.25, 0.25]], dtype=np.float32)
    nodes = tree.node_proba(proba)
    assert nodes.dtype == np.float32 and nodes.shape == (2, tree.n_nodes)
    # The same sums as the full membership product, inner nodes included.
    dense = proba @ tree.leaf_membership.T.astype(np.float32)
    np.testing.assert_array_equal(nodes, dense)
    assert nodes[0, tree.index_of("A")] == pytest.approx(0.3)
