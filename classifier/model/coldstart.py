"""Cold start: zero-shot scores from category names, nearest prototypes, blending, novelty."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

# Share of the alternative scores kept for leaves with neither labels nor a name embedding.
UNSCORED_MASS = 0.05


def anchor_modality(modalities: Sequence[str]) -> str:
    """The modality whose prototypes (or category-name embeddings) score the leaves a head
    cannot be trusted on yet: text when the model has it, else its first modality."""
    return "text" if "text" in modalities else modalities[0]


def unit_names(zero_shot: np.ndarray | None, n_leaves: int, d_text: int) -> np.ndarray | None:
    """The ``(n_leaves, d_text)`` category-name embeddings as unit rows (checked), or None."""
    if zero_shot is None:
        return None
    zs = np.asarray(zero_shot, dtype=np.float32)
    if zs.shape != (n_leaves, d_text):
        raise ValueError(f"zero_shot must be (n_leaves, d_text), got {zs.shape}")
    return zs / np.maximum(np.linalg.norm(zs, axis=1, keepdims=True), 1e-12)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def zero_shot_proba(
    text_emb: np.ndarray, label_emb: np.ndarray, temperature: float = 0.05
) -> np.ndarray:
    """``softmax(cos(text, label) / temperature)``.

    Args:
        text_emb: ``(n, d)`` item text embeddings.
        label_emb: ``(n_leaves, d)`` embeddings of the category names (one row per leaf).
    Returns:
        ``(n, n_leaves)`` float32 probabilities.
    """
    with torch.inference_mode():
        t = _unit(torch.as_tensor(np.asarray(text_emb, dtype=np.float32)))
        lab = _unit(torch.as_tensor(np.asarray(label_emb, dtype=np.float32)))
        return torch.softmax(t @ lab.T / temperature, dim=1).numpy()


def prototypes(x: np.ndarray, leaf_col: np.ndarray, n_leaves: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit mean of the unit embeddings per leaf: ``(n_leaves, d)`` and counts ``(n_leaves,)``.

    ``leaf_col`` is the leaf column of each row or -1 (inner-node label); rows with NaN are
    skipped. Leaves without rows get a zero prototype and count 0.
    """
    ok = (leaf_col >= 0) & np.isfinite(x).all(axis=1)
    cols = leaf_col[ok]
    # Rows sorted by leaf and summed per run: ``np.add.at`` took ~1 s for 10k 1664-d rows.
    order = np.argsort(cols, kind="stable")
    rows = x[ok][order]
    unit = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    sums = np.zeros((n_leaves, x.shape[1]), dtype=np.float64)
    if len(cols):
        starts = np.flatnonzero(np.diff(cols[order], prepend=-1))
        sums[cols[order][starts]] = np.add.reduceat(unit, starts, axis=0, dtype=np.float64)
    counts = np.bincount(cols, minlength=n_leaves)
    protos = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return protos.astype(np.float32), counts


def alternative_proba(
    text_unit: torch.Tensor, anchors: torch.Tensor, scored: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Scores for leaves the head cannot be trusted on yet: ``(n, n_leaves)``.

    ``text_unit`` ``(n, d)`` are unit text rows (zero where missing); ``anchors``
    ``(n_leaves, d)`` unit rows, the labelled prototype of a leaf or its name embedding when it
    has no labels; ``scored`` ``(n_leaves,)`` marks leaves that have either. The rest share a
    small uniform mass (all of it when nothing is scored).
    """
    n_leaves = anchors.shape[0]
    n_unscored = int((~scored).sum())
    if n_unscored == n_leaves:
        return torch.full((text_unit.shape[0], n_leaves), 1.0 / n_leaves)
    cos = torch.nn.functional.linear(text_unit, anchors)
    proba = torch.softmax(cos.masked_fill(~scored, float("-inf")) / temperature, dim=1)
    if n_unscored == 0:
        return proba
    uniform = (~scored).to(proba.dtype) / n_unscored
    return (1 - UNSCORED_MASS) * proba + UNSCORED_MASS * uniform


def blend(head: torch.Tensor, alt: torch.Tensor, trust: torch.Tensor) -> torch.Tensor:
    """Blend head probabilities with the alternative scores, leaf by leaf.

    ``trust`` ``(n_leaves,)`` in [0, 1] grows with a leaf's label count. The alternative scores
    decide how much mass goes to under-labelled leaves, ``q = sum_j (1 - trust_j) alt_j``; the
    head shares out the rest among the trusted leaves. Rows still sum to 1.
    """
    q = (alt * (1 - trust)).sum(dim=-1, keepdim=True)
    trusted = head * trust
    trusted = trusted / trusted.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    return (1 - q) * trusted + alt * (1 - trust)


def nearest_distance(
    unit: torch.Tensor, present: torch.Tensor, anchors: torch.Tensor
) -> torch.Tensor:
    """``(n,)`` ``1 - max cos`` of unit rows ``(n, d)`` to unit anchors ``(k, d)``; NaN where
    ``present`` ``(n,)`` is False."""
    dist = 1 - torch.nn.functional.linear(unit, anchors).max(dim=1).values
    return dist.masked_fill(~present, float("nan"))
