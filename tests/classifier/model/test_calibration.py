"""Temperature scaling and committee averaging on toy logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from classifier.metrics.calibration import expected_calibration_error as ece
from classifier.model.calibration import committee_proba, fill_absent, fit_temperature, partial_nll


def overconfident_logits(n: int = 4000, scale: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels drawn from softmax(z); the model reports softmax(scale * z): over-confident."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, 5))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(5, p=row) for row in p])
    return torch.tensor(scale * z, dtype=torch.float32).unsqueeze(0), torch.from_numpy(y)


def test_it_undoes_over_confidence_with_the_fitted_temperature() -> None:
    logits, y = overconfident_logits()
    votes, eye = torch.ones(1, len(y), dtype=torch.bool), torch.eye(5)
    t = fit_temperature(logits, votes, y, eye)
    before = committee_proba(logits, votes, 1.0).mean(0)
    after = committee_proba(logits, votes, t).mean(0)
    assert t == pytest.approx(4.0, rel=0.15)
    assert partial_nll(after, y, eye) < partial_nll(before, y, eye) - 0.2
    assert ece(after.numpy(), y.numpy()) < ece(before.numpy(), y.numpy()) / 3


def test_it_gives_a_member_without_its_modality_the_mean_of_the_others() -> None:
    proba = torch.tensor([[[0.6, 0.4]], [[0.2, 0.8]], [[1.0, 0.0]]])
    votes = torch.tensor([[True], [True], [False]])
    filled = fill_absent(proba, votes)
    assert filled[2, 0].tolist() == pytest.approx([0.4, 0.6])
    assert filled.mean(0)[0].tolist() == pytest.approx([0.4, 0.6])


def test_the_prior_keeps_the_temperature_near_one_on_a_small_perfect_validation_set() -> None:
    # Without it the NLL keeps falling as T → 0 and the fit would run to the 0.05 bound.
    y = torch.arange(20) % 4
    logits = (8.0 * torch.nn.functional.one_hot(y, 4).float()).unsqueeze(0)
    t = fit_temperature(logits, torch.ones(1, 20, dtype=torch.bool), y, torch.eye(4))
    assert 0.5 < t <= 1.0


def test_an_inner_node_label_is_scored_by_the_sum_of_its_leaves() -> None:
    proba = torch.tensor([[0.5, 0.2, 0.3]])
    membership = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # node 0 = leaves 0+1
    assert partial_nll(proba, torch.tensor([0]), membership) == pytest.approx(-np.log(0.7))
