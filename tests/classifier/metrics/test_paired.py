"""classifier.metrics.paired: the paired bootstrap of a score difference, hand-computed."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.metrics import hierarchical_f1_parts, hierarchical_prf, paired_bootstrap
from classifier.tree import Tree


def test_equal_differences_on_every_item_give_a_degenerate_interval() -> None:
    active = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.5])
    got = paired_bootstrap(active + 0.25, active)
    assert (got.difference, got.n, got.resamples, got.confidence) == (0.25, 6, 2000, 0.95)
    assert got.low == pytest.approx(0.25, abs=1e-12) and got.high == pytest.approx(0.25, abs=1e-12)


def test_one_item_lost_in_63_is_no_evidence_of_a_worse_model() -> None:
    # The candidate misses 1 item the active model gets right. A resample's difference is
    # -k/63 with k ~ Binomial(63, 1/63): P(k = 0) = (62/63)^63 = 0.365 > 2.5 %, so the upper
    # bound is 0; P(k >= 4) = 1.8 % < 2.5 % <= P(k >= 3) = 7.9 %, so the lower one is -3/63.
    active = np.ones(63)
    candidate = active.copy()
    candidate[17] = 0.0
    got = paired_bootstrap(candidate, active)
    assert got.difference == pytest.approx(-1 / 63)
    assert (got.low, got.high) == (pytest.approx(-3 / 63), 0.0)


def test_a_clear_loss_has_an_interval_below_zero() -> None:
    # 20 of 63 items lost: -20/63 = -0.317, standard error sqrt(p (1 - p) / 63) = 0.0586 with
    # p = 20/63, so about -0.317 -/+ 1.96 x 0.0586 = [-0.432, -0.203] (steps of 1/63).
    active = np.ones(63)
    candidate = np.r_[np.zeros(20), np.ones(43)]
    got = paired_bootstrap(candidate, active)
    assert got.difference == pytest.approx(-20 / 63)
    assert got.low == pytest.approx(-0.432, abs=1 / 63)
    assert got.high == pytest.approx(-0.203, abs=1 / 63)
    assert got.high < 0


def test_the_interval_depends_only_on_the_seed() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random(50), rng.random(50)
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)
    assert paired_bootstrap(a, b, seed=3) != paired_bootstrap(a, b, seed=4)


def test_ratio_scores_resample_numerator_and_denominator_together() -> None:
    # stat = sum(num) / sum(den): 3/4 vs 2/4 on the whole sample.
    got = paired_bootstrap([1, 2, 0], [1, 0, 1], denominator_a=[1, 2, 1], denominator_b=[1, 2, 1])
    assert got.difference == pytest.approx(0.25)
    assert got.low <= 0.25 <= got.high


def test_hierarchical_f1_parts_add_up_to_the_micro_f1(tree: Tree) -> None:
    rng = np.random.default_rng(0)
    true = rng.integers(0, tree.n_nodes, size=200)
    pred = np.where(rng.random(200) < 0.1, -1, rng.integers(0, tree.n_nodes, size=200))
    num, den = hierarchical_f1_parts(tree, true, pred)
    assert num.sum() / den.sum() == pytest.approx(hierarchical_prf(tree, true, pred)[2])
    # Shirts for Tshirts: 2 shared of 3 + 3 nodes; abstain on Watches: 0 of 2 + 0.
    num, den = hierarchical_f1_parts(tree, [3, 10], [2, -1])
    assert num.tolist() == [4.0, 0.0] and den.tolist() == [6.0, 2.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": [], "b": []}, "at least one item"),
        ({"a": [1, 2], "b": [1]}, "length"),
        ({"a": [1, np.nan], "b": [1, 1]}, "finite"),
        ({"a": [1], "b": [1], "confidence": 1.0}, "confidence"),
        ({"a": [1], "b": [1], "n_resamples": 0}, "n_resamples"),
    ],
)
def test_bad_input_is_refused_with_the_reason(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(**kwargs)
