"""Warm start: a new taxonomy version's model begins where the previous version's model ended.

Each new leaf names the old nodes it comes from (``WarmStart.sources``); an old inner node
stands for all its leaves. Every old leaf's probability mass is shared equally among the new
leaves that claim it, so before any training step the new model spreads the old model's
beliefs over the new tree:

- renamed or moved leaf (one source, claimed once): the old row, unchanged;
- merged leaf (several sources): ``P(new) ~= sum of P(old sources)``;
- split (k new leaves claim one old node): each child gets ``P(old) / k``, so the children tie
  and their parent keeps the old probability (roll-up decisions do not jump at publish time);
- a new leaf without a source keeps a fresh row and the cold start (prototypes, zero-shot).

The exact logit of a new leaf is ``logsumexp_l(z_l - log n_l)`` over its sources ``l``
(``z_l = w_l . x + b_l``, ``n_l`` the number of new leaves claiming ``l``). That is not
linear in ``x``; the head row is its first-order Taylor expansion at the standardised centre
``x = 0``: bias ``logsumexp_l(b_l - log n_l)`` and weights ``sum_l pi_l w_l`` with
``pi = softmax_l(b_l - log n_l)``. It is exact at the centre and wherever the merged rows
agree, and by Jensen it never over-states the merged logit; the gap is
``log sum_l pi_l exp(u_l) - sum_l pi_l u_l`` with ``u_l = w_l . x``, about half the
``pi``-variance of the merged leaves' scores: large for items the old model confidently
placed in one of the merged leaves. So the Taylor rows then get the smallest (ridge) change
that makes them exact at the old leaves' prototypes, the points that stand for each old
category. Measured on the toy clusters of the tests (merging two of four leaves): mean
``|P_new(merged) - sum P_old|`` 0.001 where the old model is 99.8 % accurate (0.008 without
the correction), 0.07 where it is 91 % accurate (0.12 without); training closes the rest.
Splits and renames are exact (one source: the row itself, shifted by ``-log k``).
The old temperature is folded into the weights, so the new logits start calibrated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
from torch import nn

from classifier.model.network import Adapter, CommitteeNet
from classifier.tree import Tree

if TYPE_CHECKING:
    from classifier.model.estimator import HierarchicalClassifier

# Ridge of the anchor correction: keeps the change small where the anchors are nearly
# collinear (a few old leaves with near-identical prototypes).
ANCHOR_RIDGE = 1e-3


@dataclass(frozen=True)
class WarmStart:
    """Where a new model starts: a fitted model of the old tree and the leaves' origins.

    Args:
        model: a fitted ``HierarchicalClassifier`` of the previous taxonomy version.
        sources: ``{new leaf key: [old node key, ...]}``. A new leaf missing from it whose key
            exists in the old tree comes from that node (unchanged categories need no entry);
            an empty list marks a new leaf without a source (cold start).
    """

    model: HierarchicalClassifier
    sources: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def shares(self, tree: Tree) -> np.ndarray:
        """``(n_leaves_new, n_leaves_old)`` float64: the share of each old leaf's probability
        that each new leaf inherits (``1 / claimants``; 0 where it is not a source)."""
        claims = np.zeros((tree.n_leaves, self.model.tree.n_leaves), dtype=np.float64)
        for col, key in enumerate(tree.keys[i] for i in tree.leaves):
            claims[col, self._old_leaf_columns(key)] = 1.0
        claimants = claims.sum(axis=0)
        return claims / np.maximum(claimants, 1.0)

    def check(self, tree: Tree, dims: Mapping[str, int]) -> None:
        """Raise ``KeyError`` for an unknown key, ``ValueError`` when a new key is no leaf or a
        shared modality's features ``{modality: width}`` differ from the old model's."""
        for key in self.sources:
            if not tree.is_leaf(tree.index_of(key)):
                raise ValueError(f"warm-start source for {key!r}: it is not a leaf of the new tree")
        for m, d in dims.items():
            old_d = self.model.dims_.get(m, d)
            if d != old_d:
                raise ValueError(
                    f"cannot warm-start {m!r} features of width {d} from a model of width {old_d}"
                )

    def _old_leaf_columns(self, key: str) -> np.ndarray:
        old = self.model.tree
        names = self.sources.get(key, [key] if key in old.keys else [])
        cols = [old.leaves_under(old.index_of(name)) for name in names]
        return np.unique(np.concatenate(cols)) if cols else np.zeros(0, dtype=np.int64)


def initialise(net: CommitteeNet, warm: WarmStart, tree: Tree) -> None:
    """Overwrite a fresh ``net`` of ``tree`` in place with the old model's mapped weights.

    Shared modalities take the old standardisation, missing-modality stand-in and adapter, so
    the mapped head rows see exactly the inputs they were trained on.
    """
    old = warm.model.net_
    shares = torch.from_numpy(warm.shares(tree)).float()
    rows = shares.sum(dim=1) > 0
    shared = [m for m in net.modalities if m in old.modalities]
    with torch.no_grad():
        for m in shared:
            _copy_modality(net, old, m)
        mapping = _Mapping(torch.log(shares), _anchors(warm, shared), 1.0 / warm.model.temperature_)
        for m in shared:
            new_head, old_head = cast(nn.Linear, net.heads[m]), cast(nn.Linear, old.heads[m])
            weight, bias = mapping.rows({m: old_head.weight}, old_head.bias)
            new_head.weight[rows] = weight[m][rows]
            new_head.bias[rows] = bias[rows]
        _initialise_fused(net, old, mapping, rows)


@dataclass(frozen=True)
class _Mapping:
    """How one old head's rows become the new head's (see the module docstring).

    ``log_share`` ``(n_new, n_old)`` is ``-inf`` off-source; ``anchors`` ``{modality: (a, d)}``
    are head inputs at the old leaves' prototypes; ``scale`` folds in the old temperature.
    """

    log_share: torch.Tensor
    anchors: dict[str, torch.Tensor]
    scale: float

    def rows(
        self, weights: Mapping[str, torch.Tensor], bias: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """``{modality: (n_new, d)}`` and ``(n_new,)`` from an old head's column blocks
        ``{modality: (n_old, d)}`` and bias ``(n_old,)``; rows without a source are NaN."""
        weights = {m: w * self.scale for m, w in weights.items()}
        a = bias.unsqueeze(0) * self.scale + self.log_share
        pi = torch.softmax(a, dim=1)
        new_w, new_b = {m: pi @ w for m, w in weights.items()}, torch.logsumexp(a, dim=1)
        return self._corrected(weights, bias * self.scale, new_w, new_b)

    def _corrected(
        self,
        weights: dict[str, torch.Tensor],
        bias: torch.Tensor,
        new_w: dict[str, torch.Tensor],
        new_b: torch.Tensor,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The Taylor rows plus the smallest change that makes them exact at the anchors."""
        blocks = [m for m in weights if m in self.anchors]
        if not blocks or len(self.anchors[blocks[0]]) == 0:
            return new_w, new_b
        z = torch.cat([self.anchors[m] for m in blocks], dim=1).double()
        old_w = torch.cat([weights[m] for m in blocks], dim=1).double()
        taylor_w = torch.cat([new_w[m] for m in blocks], dim=1).double()
        exact = torch.logsumexp(
            (z @ old_w.T + bias.double()).unsqueeze(1) + self.log_share.double(), dim=2
        )
        residual = torch.nan_to_num(exact - (z @ taylor_w.T + new_b.double()), 0.0)
        z1 = torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], dim=1)
        gram = z1 @ z1.T + ANCHOR_RIDGE * torch.eye(len(z1), dtype=z.dtype)
        delta = (z1.T @ torch.linalg.solve(gram, residual)).T.float()  # (n_new, D + 1)
        out, start = dict(new_w), 0
        for m in blocks:
            d = weights[m].shape[1]
            out[m] = new_w[m] + delta[:, start : start + d]
            start += d
        return out, new_b + delta[:, -1]


def _anchors(warm: WarmStart, modalities: Sequence[str]) -> dict[str, torch.Tensor]:
    """``{modality: (a, d)}`` head inputs at the prototypes of the old leaves with labels.

    A leaf without a prototype in some modality (no image among its labels) takes the learned
    missing stand-in there, which is what the old model saw for such items.
    """
    old = warm.model
    labelled = np.flatnonzero(old.leaf_counts_ > 0)
    out = {}
    for m in modalities:
        if m not in old.prototypes_:
            return {}
        protos = torch.from_numpy(old.prototypes_[m][labelled])
        present = protos.norm(dim=1) > 0
        head_in = old.net_.adapters[m](old.net_.standardise(m, protos))
        out[m] = torch.where(present.unsqueeze(1), head_in, old.net_.missing[m].detach())
    return out


def _initialise_fused(
    net: CommitteeNet, old: CommitteeNet, mapping: _Mapping, rows: torch.Tensor
) -> None:
    """The fused head: shared modalities' column blocks mapped, new modalities' zero.

    An old modality the new model lacks enters the bias as its learned stand-in (what the old
    model used on items without it), so the new model scores like the old one did them.
    """
    blocks, bias = {}, old.fused.bias.clone()
    for m, (start, stop) in _offsets(old).items():
        block = old.fused.weight[:, start:stop]
        if m in net.modalities:
            blocks[m] = block
        else:
            bias += block @ old.missing[m]
    weight, new_bias = mapping.rows(blocks, bias)
    for m, (start, stop) in _offsets(net).items():
        fill = weight[m][rows] if m in weight else 0.0
        net.fused.weight[rows, start:stop] = fill
    net.fused.bias[rows] = new_bias[rows]


def _copy_modality(net: CommitteeNet, old: CommitteeNet, m: str) -> None:
    getattr(net, f"mean_{m}").copy_(getattr(old, f"mean_{m}"))
    getattr(net, f"std_{m}").copy_(getattr(old, f"std_{m}"))
    net.missing[m].copy_(old.missing[m])
    new, previous = net.adapters[m], old.adapters[m]
    # An adapter of another width (a changed ``bottleneck``) starts fresh.
    if isinstance(new, Adapter) and isinstance(previous, Adapter) and _same_shape(new, previous):
        new.load_state_dict(previous.state_dict())


def _same_shape(a: Adapter, b: Adapter) -> bool:
    return a.down.weight.shape == b.down.weight.shape


def _offsets(net: CommitteeNet) -> dict[str, tuple[int, int]]:
    """Each modality's column range in the fused head."""
    out, start = {}, 0
    for m in net.modalities:
        d = cast(nn.Linear, net.heads[m]).in_features
        out[m] = (start, start + d)
        start += d
    return out


def inherit_prototypes(
    warm: WarmStart, tree: Tree, modality: str, protos: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """New leaves' prototypes and counts plus their share of the old leaves'.

    A warm-started leaf is then trusted (``min_labels_for_head``), has a novelty anchor and
    keeps its prototype before it has new labels of its own. Counts round up, so a leaf that
    inherits part of one label still counts as labelled.
    """
    old = warm.model
    if modality not in old.prototypes_:
        return protos, counts
    shares = warm.shares(tree)
    old_counts = old.leaf_counts_.astype(np.float64)
    sums = protos.astype(np.float64) * counts[:, None]
    sums += shares @ (old.prototypes_[modality].astype(np.float64) * old_counts[:, None])
    norm = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    inherited = np.ceil(shares @ old_counts - 1e-9).astype(np.int64)
    return (sums / norm).astype(np.float32), counts + inherited
