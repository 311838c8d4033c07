"""Torch modules of the classifier: standardisation, residual adapters and the committee heads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FUSED = "fused"
# Norm of a modality's features in the fused head relative to the title's. Images are the
# weaker, over-confident modality: at 1/4 the fused head leans on them only where titles are
# ambiguous (fashion, 9.5k items with images: text+image then beats text on accuracy and
# macro-F1; at equal norm it lost on macro-F1). A single-modality model is not scaled.
MODALITY_SHARE = {"image": 0.25}


class Adapter(nn.Module):
    """Residual bottleneck adapter ``x + up(gelu(down(LayerNorm(x))))`` on a ``(n, dim)`` input."""

    def __init__(self, dim: int, bottleneck: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.down = nn.Linear(dim, bottleneck)
        self.up = nn.Linear(bottleneck, dim)
        self.drop = nn.Dropout(dropout)
        # Start as the identity so the heads first see the frozen features unchanged.
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.drop(F.gelu(self.down(self.norm(x)))))


class CommitteeNet(nn.Module):
    """Adapters on each modality, a fused head over all of them and one head per modality.

    ``forward`` takes raw features ``{modality: (n, d)}`` (NaN rows = missing) and returns
    logits ``(n_members, n, n_leaves)`` in the order of ``members`` plus the presence mask
    ``(n_modalities, n)``.
    """

    def __init__(
        self, dims: Mapping[str, int], n_leaves: int, bottleneck: int, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.modalities: list[str] = list(dims)
        self.members: list[str] = [FUSED, *self.modalities]
        for m, d in dims.items():
            # Standardisation stats are buffers so they travel with the weights.
            self.register_buffer(f"mean_{m}", torch.zeros(d))
            self.register_buffer(f"std_{m}", torch.ones(d))
        # ``bottleneck=0``: no adapter, the heads are linear models of the standardised
        # features (what the fashion benchmarks favour: the adapter overfits a few labels).
        self.adapters = nn.ModuleDict(
            {
                m: Adapter(d, bottleneck, dropout) if bottleneck > 0 else nn.Identity()
                for m, d in dims.items()
            }
        )
        self.heads = nn.ModuleDict({m: nn.Linear(d, n_leaves) for m, d in dims.items()})
        # A learned stand-in for a missing modality, so the fused head never sees NaN.
        self.missing = nn.ParameterDict({m: nn.Parameter(torch.zeros(d)) for m, d in dims.items()})
        self.fused = nn.Linear(sum(dims.values()), n_leaves)

    def set_standardisation(self, stats: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
        for m, (mean, std) in stats.items():
            getattr(self, f"mean_{m}").copy_(mean)
            getattr(self, f"std_{m}").copy_(std)

    def standardise(self, m: str, unit: torch.Tensor) -> torch.Tensor:
        """``(n, d)`` unit rows → ``(unit - mean) / std`` in one fused multiply-add."""
        inv_std = 1.0 / getattr(self, f"std_{m}")
        return torch.addcmul(-getattr(self, f"mean_{m}") * inv_std, unit, inv_std)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_units({m: unit_rows(feats[m]) for m in self.modalities})

    def forward_units(
        self, units: Mapping[str, tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like ``forward`` on ``{modality: unit_rows(x)}``, so callers that also need the unit
        rows (prototype scores, novelty) normalise each chunk once."""
        n_leaves = self.fused.out_features
        composed = not (self.training or torch.is_grad_enabled())
        fused: torch.Tensor | None = None
        own: list[torch.Tensor] = []
        offset = 0
        for m in self.modalities:
            unit, present = units[m]
            head = cast(nn.Linear, self.heads[m])
            d = unit.shape[1]
            # One matmul per modality serves its slice of the fused head and its own head,
            # and the fused head never needs the (n, sum of dims) concatenation.
            weight = torch.cat([self.fused.weight[:, offset : offset + d], head.weight])
            z = self.standardise(m, unit)
            if composed:
                out = self._composed_heads(m, z, present, weight)
            else:
                # Missing rows get ``weight @ missing`` after the product, not ``missing`` before
                # it: the same logits, but no gradient flows back into the (n, d) input, which
                # saved an (n, k) x (k, d) product per step (a third of an image step).
                out = _fill_rows(
                    F.linear(self.adapters[m](z), weight), present, weight @ self.missing[m]
                )
            fused = out[:, :n_leaves] if fused is None else fused + out[:, :n_leaves]
            own.append(out[:, n_leaves:] + head.bias)
            offset += d
        assert fused is not None
        presence = torch.stack([units[m][1] for m in self.modalities])
        return torch.stack([fused + self.fused.bias, *own]), presence

    def _composed_heads(
        self, m: str, z: torch.Tensor, present: torch.Tensor, weight: torch.Tensor
    ) -> torch.Tensor:
        """``weight @ adapter(z)`` without the adapter's up-projection at inference.

        ``W (z + U h + c) = W z + (W U) h + W c``: the ``(k, bottleneck)`` product ``W U`` replaces
        the ``(d, bottleneck)`` up-projection and the ``(n, d)`` adapted features are never
        built (~20 % fewer multiply-adds when scoring millions of 1280-d rows). Training keeps
        the plain form: there ``W U`` would cost more per step than it saves.
        """
        if not isinstance(self.adapters[m], Adapter):
            return _fill_rows(z @ weight.T, present, weight @ self.missing[m])
        adapter = cast(Adapter, self.adapters[m])
        h = F.gelu(adapter.down(adapter.norm(z)))  # dropout is the identity in eval mode
        out = torch.addmm(weight @ adapter.up.bias, h, (weight @ adapter.up.weight).T)
        out = out.addmm_(z, weight.T)
        return _fill_rows(out, present, weight @ self.missing[m])


def unit_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n, d)`` raw features → unit-length rows (missing rows zero) and ``(n,)`` presence.

    Unit rows because raw image features vary in scale from image to image. A row with a NaN
    or inf is missing; its norm is then not finite, so one cheap reduction finds it (a full
    ``isfinite(x).all(1)`` costs ~20x more on 1280-d rows).
    """
    norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
    present = torch.isfinite(norm).squeeze(1)
    unit = x / norm.clamp_min(1e-12)
    if not bool(present.all()):
        unit[~present] = 0.0
    return unit, present


def _fill_rows(a: torch.Tensor, present: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``a`` with its missing rows replaced by ``value`` (a learned stand-in), autograd-safe."""
    if bool(present.all()):
        return a
    rows = torch.nonzero(~present).squeeze(1)
    return a.index_put((rows,), value.expand(len(rows), -1))


def member_mask(presence: torch.Tensor, n_members: int) -> torch.Tensor:
    """``(n_modalities, n)`` presence → ``(n_members, n)`` bool: which members may vote.

    The fused member always votes; a single-modality member only where its modality exists.
    """
    fused = torch.ones_like(presence[:1])
    return torch.cat([fused, presence], dim=0)[:n_members]


def standardisation_stats(x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std ``(d,)`` of the unit-normalised finite rows of ``(n, d)``."""
    rows = x[np.isfinite(x).all(axis=1)].astype(np.float64)
    if len(rows) == 0:
        return torch.zeros(x.shape[1]), torch.ones(x.shape[1])
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    # A floor keeps constant dimensions from blowing up (their std is ~0).
    std = np.maximum(rows.std(axis=0), 1e-3)
    return torch.from_numpy(rows.mean(axis=0).astype(np.float32)), torch.from_numpy(
        std.astype(np.float32)
    )


def modality_standardisation(
    X: Mapping[str, np.ndarray], dims: Mapping[str, int]
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per-modality ``(mean, std)`` ``(d,)`` of ``X`` ``{modality: (n, d)}`` for the modalities
    of ``dims`` ``{modality: d}``; a wider modality is scaled down by ``sqrt(d_min / d)``.

    Standardised, every dimension has unit variance, so a 1280-d image vector would carry
    3.3x the squared norm of a 384-d title and swamp the fused head (measured: text+image
    below text alone). Scaled, each modality brings ``MODALITY_SHARE`` of a title's norm.
    """
    d_min = min(dims.values())
    stats = {}
    for m, d in dims.items():
        mean, std = standardisation_stats(X[m])
        share = MODALITY_SHARE.get(m, 1.0) if len(dims) > 1 else 1.0
        stats[m] = (mean, std * float(np.sqrt(d / d_min)) / share)
    return stats
