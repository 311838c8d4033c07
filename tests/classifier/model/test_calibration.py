"""Temperature scaling and committee averaging on toy logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from classifier.model.calibration import committee_proba, fill_absent, fit_temperature, partial_nll


def overconfident_logits(n: int = 4000, scale: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels drawn from softmax(z); the model reports softmax(scale * z): over-confident."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, 5))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(5, p=row) for row in p])
    return torch.tensor(scale * z, dtype=torch.float32).unsqueeze(0), torch.from_numpy(y)


def ece(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    conf, hit = proba.max(1), proba.argmax(1) == y
    which = np.minimum((conf * bins).astype(int), bins - 1)
    return sum(abs(conf[which == b].mean() - hit[which == b].mean()) * (which == b).mean()
               for b in range(bins) if (which == b).any())


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
