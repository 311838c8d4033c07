"""Torch modules of the classifier: standardisation, residual adapters and the committee heads."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FUSED = "fused"


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
        self.adapters = nn.ModuleDict({m: Adapter(d, bottleneck, dropout) for m, d in dims.items()})
        self.heads = nn.ModuleDict({m: nn.Linear(d, n_leaves) for m, d in dims.items()})
        # A learned stand-in for a missing modality, so the fused head never sees NaN.
        self.missing = nn.ParameterDict({m: nn.Parameter(torch.zeros(d)) for m, d in dims.items()})
        self.fused = nn.Linear(sum(dims.values()), n_leaves)

    def set_standardisation(self, stats: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
        for m, (mean, std) in stats.items():
            getattr(self, f"mean_{m}").copy_(mean)
            getattr(self, f"std_{m}").copy_(std)

    def standardise(self, m: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(n, d)`` raw → standardised features with missing rows zeroed, and ``(n,)`` presence."""
        present = torch.isfinite(x).all(dim=1)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        # Unit rows first: raw image features vary in scale from image to image.
        x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        z = (x - getattr(self, f"mean_{m}"))
        z = z / getattr(self, f"std_{m}")
        return z * present.unsqueeze(1).to(z.dtype), present

    def forward(self, feats: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        adapted: list[torch.Tensor] = []
        presence: list[torch.Tensor] = []
        for m in self.modalities:
            z, present = self.standardise(m, feats[m])
            a = self.adapters[m](z)
            keep = present.unsqueeze(1).to(a.dtype)
            adapted.append(a * keep + self.missing[m] * (1.0 - keep))
            presence.append(present)
        logits = [self.fused(torch.cat(adapted, dim=1))]
        logits += [self.heads[m](a) for m, a in zip(self.modalities, adapted, strict=True)]
        return torch.stack(logits), torch.stack(presence)


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
