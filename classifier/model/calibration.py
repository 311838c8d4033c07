"""Temperature scaling of the committee: one temperature for all members, fitted by NLL, on
held-out logits or (``cross_fit_temperature``) on out-of-fold logits of cross-fitted models."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from classifier.model import inputs
from classifier.model.network import member_mask

if TYPE_CHECKING:  # the estimator calls this module
    from classifier.model.estimator import HierarchicalClassifier
    from classifier.model.inputs import Features

LOG_T_RANGE = (math.log(0.05), math.log(20.0))


def fill_absent(proba: torch.Tensor, votes: torch.Tensor) -> torch.Tensor:
    """``(m, n, k)`` member probabilities and ``(m, n)`` bool votes → ``(m, n, k)``.

    A member that may not vote on a row (its modality is missing) gets the mean of the members
    that may, so it neither drags the average nor fakes disagreement; the mean over all ``m``
    slices then equals the mean over the voting members.
    """
    w = votes.to(proba.dtype).unsqueeze(2)
    fallback = (proba * w).sum(0) / w.sum(0).clamp_min(1.0)
    return torch.where(votes.unsqueeze(2), proba, fallback.unsqueeze(0))


def committee_proba(logits: torch.Tensor, votes: torch.Tensor, temperature: float) -> torch.Tensor:
    """``(m, n, k)`` logits and ``(m, n)`` bool votes → ``(m, n, k)`` calibrated member proba."""
    return fill_absent(torch.softmax(logits / temperature, dim=2), votes)


def partial_nll(proba: torch.Tensor, labels: torch.Tensor, membership: torch.Tensor) -> float:
    """Mean ``-log`` of the probability of each labelled node (sum over its leaves)."""
    p_node = (proba * membership[labels]).sum(dim=1)
    return float(-torch.log(p_node.clamp_min(1e-12)).mean())


def fit_temperature(
    logits: torch.Tensor, votes: torch.Tensor, labels: torch.Tensor, membership: torch.Tensor
) -> float:
    """Temperature minimising the NLL of the committee average on held-out rows.

    A standard normal prior on ``log T`` (weight ``1 / n`` per row) keeps ``T`` near 1 when the
    rows cannot tell: on a small, perfectly classified validation set the plain NLL keeps
    falling as ``T → 0`` and would sharpen every probability to exactly 0 or 1. On thousands
    of rows the prior is negligible. A coarse grid then golden-section search over ``log T``:
    deterministic, no gradients, and robust to flat NLL curves.
    """
    prior_weight = 1.0 / (2.0 * max(int(labels.shape[0]), 1))

    def nll(log_t: float) -> float:
        proba = committee_proba(logits, votes, math.exp(log_t)).mean(0)
        return partial_nll(proba, labels, membership) + prior_weight * log_t**2

    lo, hi = LOG_T_RANGE
    grid = [lo + (hi - lo) * i / 24 for i in range(25)]
    best = min(range(len(grid)), key=lambda i: nll(grid[i]))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(30):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if nll(c) < nll(d):
            b = d
        else:
            a = c
    return math.exp((a + b) / 2)


def cross_fit_temperature(
    model: HierarchicalClassifier,
    X: Features,
    y: np.ndarray,
    folds: np.ndarray,
    train: Callable[[np.ndarray], None],
    keep: Callable[[np.ndarray, torch.Tensor], None] | None = None,
) -> float:
    """The temperature of ``model``'s refit, from out-of-fold logits of models trained as it is.

    For each fold of ``(n,)`` ``folds`` (ids ``0..k-1``), ``train(rows)`` leaves ``model.net_``
    trained on the rows outside it as the refit will be (same initialisation, fixed epochs, no
    early stopping), which then predicts the fold's rows. The logits are stacked in fold order;
    ``keep(order, logits)``, when given, receives that ``(n,)`` row order and the fused
    member's ``(n, n_leaves)`` out-of-fold logits (the simulator's lexical pool fits on them).
    """
    logits, votes = [], []
    for k in range(int(folds.max()) + 1):
        held, rest = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
        train(rest)
        with torch.inference_mode():
            feats = inputs.row_tensors(X, model.modalities_, held)
            out, presence = model.net_.eval()({m: x.to(model.device) for m, x in feats.items()})
        logits.append(out[:1].cpu())
        votes.append(member_mask(presence, len(model.members_))[:1].cpu())
    order = np.argsort(folds, kind="stable")
    labels = torch.from_numpy(y[order])
    membership = torch.from_numpy(model.tree.leaf_membership.astype(np.float32))
    z, v = torch.cat(logits, dim=1), torch.cat(votes, dim=1)
    if keep is not None:
        keep(order, z[0])
    return fit_temperature(z, v, labels, membership)
