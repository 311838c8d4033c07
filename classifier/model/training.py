"""Training loop for :class:`CommitteeNet`: validation split, mini-batches, early stopping."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from classifier.model.losses import hierarchical_loss
from classifier.model.network import CommitteeNet, unit_rows
from classifier.splits import duplicate_groups

# Early stopping: the validation loss must improve by this fraction to restart the patience.
MIN_RELATIVE_IMPROVEMENT = 0.005
# Fewest optimiser steps a fit may stop at (see ``epochs_for``).
MIN_STEPS = 300
# Most optimiser steps of a fit, times the leaves: a step's cost is linear in the leaves (the
# heads' output width), so this bounds a fit's time, not its step count. 15M is ~3,200 steps on
# the Google Product Taxonomy (4,719 leaves; 100,000 labels are ~350 steps an epoch) and never
# binds on a few hundred leaves (60 epochs of 44k labels are ~10k steps; the bound is 100k).
# Measured on 30,000 synthetic labels over the 4,719 leaves (text only): held-out accuracy
# 0.880 after 1,000 steps, 0.894 after 3,200, 0.897 after 4,450 (no early stop: the validation
# loss keeps creeping down). A cosine decay over the budget did worse (0.872 at 1,000 steps),
# and so did lr 1e-2. ``max_steps`` (MODEL_PARAMS) sets the budget outright.
LEAF_STEP_BUDGET = 15_000_000

Units = dict[str, tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class TrainConfig:
    tree_loss_weight: float
    max_epochs: int
    patience: int
    lr: float
    weight_decay: float
    batch_size: int


@dataclass(frozen=True)
class TreeTensors:
    log_mask: torch.Tensor  # (n_nodes, n_leaves)
    distance: torch.Tensor  # (n_nodes, n_leaves)


def validation_split(
    y: np.ndarray, groups: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, group-aware split: ``(train_idx, val_idx)``.

    Rows sharing a group id (e.g. identical titles) stay on one side, so early stopping and
    the temperature are not flattered by duplicates. Per label, ``round(fraction * n_groups)``
    groups go to validation; labels with a single group stay in training.
    """
    rng = np.random.default_rng(seed)
    uniq, first = np.unique(groups, return_index=True)
    group_label = y[first]
    val_groups: list[np.ndarray] = []
    for label in np.unique(group_label):
        members = uniq[group_label == label]
        take = int(round(fraction * len(members))) if len(members) > 1 else 0
        val_groups.append(rng.permutation(members)[:take])
    is_val = np.isin(groups, np.concatenate(val_groups)) if val_groups else np.zeros(len(y), bool)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def group_folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray | None:
    """``(n,)`` fold index per row, rows of one group in one fold, groups dealt to the folds
    in a seeded random order (so fold sizes differ by at most one group); ``None`` when there
    are fewer than two folds or fewer groups than folds."""
    uniq, inverse = np.unique(groups, return_inverse=True)
    if n_folds < 2 or len(uniq) < n_folds:
        return None
    fold_of_group = np.random.default_rng(seed).permutation(len(uniq)) % n_folds
    return fold_of_group[inverse]


def row_groups(x: np.ndarray) -> np.ndarray:
    """``(n,)`` int group id per row: identical rows (same title embedding) share an id; a
    row with a NaN (modality missing) is its own group. The project's one duplicate grouping
    (``classifier.splits.duplicate_groups``), as the loop's held-out split uses it."""
    return duplicate_groups(vectors=x)


def committee_loss(
    net: CommitteeNet,
    units: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    labels: torch.Tensor,
    weights: torch.Tensor | None,
    tt: TreeTensors,
    tree_weight: float,
) -> torch.Tensor:
    """Sum over members of the hierarchical loss; a modality head only on rows that have it.

    ``units`` is ``{modality: unit_rows(x)}`` (see :func:`unit_rows`)."""
    logits, presence = net.forward_units(units)
    total = hierarchical_loss(logits[0], labels, tt.log_mask, tt.distance, tree_weight, weights)
    for k in range(presence.shape[0]):
        rows = presence[k]
        if rows.any():
            w = None if weights is None else weights[rows]
            total = (
                total
                + hierarchical_loss(
                    logits[k + 1][rows], labels[rows], tt.log_mask, tt.distance, tree_weight, w
                )
                * rows.float().mean()
            )
    return total


def train(
    net: CommitteeNet,
    data: tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor],
    val: tuple[dict[str, torch.Tensor], torch.Tensor] | None,
    tt: TreeTensors,
    cfg: TrainConfig,
    generator: torch.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Fit ``net`` in place on ``(features, labels, row weights)``.

    Returns ``(epochs run, best epoch)``. With a validation set, keeps the weights of the epoch
    with the lowest validation loss and stops after ``patience`` epochs without improvement;
    without one it runs ``max_epochs`` and the best epoch is the last.
    """
    feats, labels, weights = data
    # Normalise once, not once per batch and epoch.
    units = {m: unit_rows(x) for m, x in feats.items()}
    val_units = None if val is None else ({m: unit_rows(x) for m, x in val[0].items()}, val[1])
    params = [p for p in net.parameters() if p.requires_grad]
    # The fused CPU kernel updates all tensors in one pass: ~3x faster steps than the default.
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    best, best_state, stale, epoch, best_epoch = float("inf"), None, 0, 0, 0
    reference = float("inf")  # patience restarts only on a real improvement over this
    n = labels.shape[0]
    for epoch in range(1, cfg.max_epochs + 1):
        net.train()
        for idx in torch.randperm(n, generator=generator).split(cfg.batch_size):
            batch = {m: (u[idx], p[idx]) for m, (u, p) in units.items()}
            loss = committee_loss(net, batch, labels[idx], weights[idx], tt, cfg.tree_loss_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if progress is not None:
            progress(epoch, cfg.max_epochs)
        if val_units is None:
            best_epoch = epoch
            continue
        current = validation_loss(net, val_units, tt, cfg.tree_loss_weight)
        if current < best:
            best, best_state, best_epoch = current, copy.deepcopy(net.state_dict()), epoch
        # Creeping gains (a long tail of tiny loss improvements) do not keep training alive:
        # they cost epochs and change no decision.
        if current < reference * (1.0 - MIN_RELATIVE_IMPROVEMENT):
            reference, stale = current, 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return epoch, best_epoch


def epochs_for(
    n_rows: int, batch_size: int, max_epochs: int, min_steps: int, max_steps: int | None = None
) -> int:
    """``max_epochs``, raised so that at least ``min_steps`` optimiser steps can run, and
    lowered so that about ``max_steps`` at most do (whole epochs, at least one).

    With a few hundred labels an epoch is one or two batches: 60 epochs are then ~100 steps,
    far from converged (measured on the fashion titles: 500 labels hit the cap every time).
    With 100,000 labels over thousands of leaves an epoch is ~350 steps of the costliest kind
    (a step is linear in the leaves): see ``LEAF_STEP_BUDGET``.
    """
    per_epoch = max(-(-n_rows // max(batch_size, 1)), 1)
    epochs = max(max_epochs, -(-min_steps // per_epoch))
    if max_steps is not None:
        epochs = min(epochs, max(-(-max_steps // per_epoch), 1))
    return epochs


def step_budget(max_steps: int | None, n_leaves: int) -> int:
    """Most optimiser steps of a fit: ``max_steps`` (at least 1) when set, else
    ``LEAF_STEP_BUDGET`` / ``n_leaves`` (at least ``MIN_STEPS``)."""
    if max_steps is not None:
        return max(int(max_steps), 1)
    return max(MIN_STEPS, LEAF_STEP_BUDGET // max(n_leaves, 1))


def validation_loss(
    net: CommitteeNet,
    val: tuple[Units, torch.Tensor],
    tt: TreeTensors,
    tree_weight: float,
) -> float:
    net.eval()
    with torch.inference_mode():
        return float(committee_loss(net, val[0], val[1], None, tt, tree_weight))
