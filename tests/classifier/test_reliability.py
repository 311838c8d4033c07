"""Dawid–Skene reviewer reliability: formulas by hand, recovery on simulated reviewers."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.reliability import Reliability, dawid_skene


def hand_made() -> Reliability:
    confusion = np.array([[[0.9, 0.1], [0.3, 0.7]]])  # one reviewer, truth x answer
    return Reliability(posterior=np.zeros((0, 2)), confusion=confusion, prior=np.array([0.5, 0.5]))


def test_accuracy_is_the_diagonal_weighted_by_the_class_shares() -> None:
    assert hand_made().accuracy() == pytest.approx([0.5 * 0.9 + 0.5 * 0.7])


def test_answer_trust_is_bayes_rule_on_the_reviewers_column() -> None:
    # answer 0: 0.5 * 0.9 / (0.5 * 0.9 + 0.5 * 0.3) = 0.75; answer 1: 0.35 / (0.05 + 0.35)
    trust = hand_made().answer_trust(np.array([0, 0]), np.array([0, 1]))
    assert trust == pytest.approx([0.75, 0.875])


def simulated(accuracy: list[float], n: int, shared: int, k: int = 4, seed: int = 0):  # type: ignore[no-untyped-def]
    """Every reviewer answers the first ``shared`` items; the rest one reviewer each."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    rows = []
    for i in range(n):
        for r in range(len(accuracy)) if i < shared else [i % len(accuracy)]:
            right = rng.random() < accuracy[r]
            rows.append((i, r, truth[i] if right else (truth[i] + rng.integers(1, k)) % k))
    items, reviewers, answers = (np.array(c) for c in zip(*rows, strict=True))
    return truth, items, reviewers, answers


def test_it_finds_the_unreliable_reviewer_from_the_shared_items() -> None:
    truth, items, reviewers, answers = simulated([0.95, 0.95, 0.6], n=1500, shared=400)
    rel = dawid_skene(items, reviewers, answers, n_items=1500, n_reviewers=3, n_classes=4)
    acc = rel.accuracy()
    assert acc[2] == pytest.approx(0.6, abs=0.06)
    assert (acc[:2] > 0.9).all()
    # On the shared items the posterior beats every single reviewer, the best included.
    best_single = max(
        (answers[(reviewers == r) & (items < 400)] == truth[:400]).mean() for r in range(3)
    )
    assert (rel.posterior[:400].argmax(1) == truth[:400]).mean() > best_single
    # A lone answer of the unreliable reviewer is trusted less than a reliable one's.
    trust = rel.answer_trust(np.array([0, 2]), np.array([1, 1]))
    assert trust[1] < trust[0] - 0.2


def test_a_reviewer_with_no_shared_items_starts_as_the_team_average() -> None:
    truth, items, reviewers, answers = simulated([0.95, 0.95, 0.6], n=600, shared=200)
    # Reviewer 3 and 4 answer lone items only: nothing tells them apart from the team prior.
    lone = np.arange(600, 700)
    items = np.r_[items, lone, lone + 100]
    reviewers = np.r_[reviewers, np.full(100, 3), np.full(100, 4)]
    answers = np.r_[answers, np.zeros(100, int), np.ones(100, int)]
    rel = dawid_skene(items, reviewers, answers, n_items=800, n_reviewers=5, n_classes=4)
    assert np.allclose(rel.confusion[3], rel.confusion[4])
    acc = rel.accuracy()
    assert acc[2] < acc[3] < max(acc[0], acc[1])


def test_it_refuses_answers_outside_the_ranges() -> None:
    with pytest.raises(ValueError, match=r"answers must lie in \[0, 2\)"):
        dawid_skene(
            np.array([0]), np.array([0]), np.array([2]), n_items=1, n_reviewers=1, n_classes=2
        )
    with pytest.raises(ValueError, match="reviewers must lie"):
        dawid_skene(
            np.array([0]), np.array([1]), np.array([0]), n_items=1, n_reviewers=1, n_classes=2
        )
    with pytest.raises(ValueError, match="one length"):
        dawid_skene(
            np.array([0, 1]), np.array([0]), np.array([0]), n_items=2, n_reviewers=1, n_classes=2
        )
