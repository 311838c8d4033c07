"""Vote entropy and KL to the consensus on hand-made committees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifier.acquisition import ConsensusKL, VoteEntropy, consensus_kl, vote_entropy


def test_vote_entropy_of_a_two_to_one_vote() -> None:
    members = np.array([[[0.7, 0.3]], [[0.6, 0.4]], [[0.2, 0.8]]])  # votes: 0, 0, 1
    # -(2/3 ln 2/3 + 1/3 ln 1/3) = 0.27031 + 0.36620 = 0.63651
    assert vote_entropy(members).tolist() == pytest.approx([0.63651], abs=1e-5)


def test_vote_entropy_is_zero_when_every_member_votes_alike() -> None:
    members = np.array([[[0.9, 0.1]], [[0.6, 0.4]]])
    assert vote_entropy(members).tolist() == [0.0]


def test_consensus_kl_of_two_opposite_members() -> None:
    members = np.array([[[0.8, 0.2]], [[0.2, 0.8]]])  # consensus (0.5, 0.5)
    # each member: 0.8 ln(0.8/0.5) + 0.2 ln(0.2/0.5) = 0.37600 - 0.18326 = 0.19274
    expected = 0.8 * math.log(1.6) + 0.2 * math.log(0.4)
    assert consensus_kl(members).tolist() == pytest.approx([expected])
    assert expected == pytest.approx(0.19274, abs=1e-5)


def test_consensus_kl_sees_disagreement_in_confidence_that_votes_miss() -> None:
    members = np.array([[[0.9, 0.1]], [[0.6, 0.4]]])  # same vote; consensus (0.75, 0.25)
    # KL1 = 0.9 ln(0.9/0.75) + 0.1 ln(0.1/0.25) = 0.16409 - 0.09163 = 0.07246
    # KL2 = 0.6 ln(0.6/0.75) + 0.4 ln(0.4/0.25) = -0.13389 + 0.18800 = 0.05411; mean 0.06329
    assert consensus_kl(members).tolist() == pytest.approx([0.06329], abs=1e-5)
    assert vote_entropy(members).tolist() == [0.0]


def test_consensus_kl_is_zero_for_identical_members_and_with_zeros() -> None:
    members = np.array([[[1.0, 0.0], [0.3, 0.7]]] * 3)
    assert consensus_kl(members).tolist() == pytest.approx([0.0, 0.0], abs=1e-12)


def test_committee_strategies_pick_the_item_the_members_argue_about() -> None:
    members = np.array(
        [
            [[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]],
            [[0.8, 0.2], [0.2, 0.8], [0.5, 0.5]],
        ]
    )  # members x 3 items x 2 classes: they agree on items 0 and 2, argue about item 1
    assert VoteEntropy().select(members, [0, 1, 2], 1).tolist() == [1]
    assert ConsensusKL().select(members, [0, 1, 2], 1).tolist() == [1]


def test_a_committee_needs_at_least_one_member_and_three_dimensions() -> None:
    with pytest.raises(ValueError, match="committee proba needs at least one member"):
        VoteEntropy().select(np.zeros((0, 2, 3)), [0], 1)
    with pytest.raises(ValueError, match=r"committee proba \(m, N, k\) must be 3-D"):
        ConsensusKL().select(np.full((2, 3), 1 / 3), [0], 1)


def test_a_member_that_does_not_sum_to_one_is_refused() -> None:
    members = np.array([[[0.5, 0.5]], [[0.9, 0.9]]])
    with pytest.raises(ValueError, match="rows of committee proba must sum to 1"):
        VoteEntropy().select(members, [0], 1)
