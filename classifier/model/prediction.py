"""The prediction path of a fitted :class:`HierarchicalClassifier`, one chunk at a time:
calibrated member probabilities, blended with the cold-start scores on leaves whose head is not
trusted yet, and the anchors novelty is measured against.

The functions take the model (its learned ``*_`` state) rather than being its methods so the
estimator stays a readable outline; the model class is imported for type checking only (the
estimator imports this module).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

from classifier.model import calibration, coldstart
from classifier.model.inputs import Features, feature_chunks
from classifier.model.network import member_mask, unit_rows

if TYPE_CHECKING:
    from classifier.model.estimator import HierarchicalClassifier

# Rows per chunk: small enough for a chunk's (rows, 1280) intermediates to stay in cache
# (measured ~25 % less CPU than 16384), large enough for efficient matrix products.
CHUNK_SIZE = 4096
# Temperature of the cosine scores of prototypes and category names (see zero_shot_proba).
PROTOTYPE_TEMPERATURE = 0.05

Units = dict[str, tuple[torch.Tensor, torch.Tensor]]


def member_chunks(
    model: HierarchicalClassifier, X: Features, chunk_size: int
) -> Iterator[tuple[Units, torch.Tensor]]:
    """Per chunk of checked features ``X``: ``{modality: unit_rows(x)}`` and the
    ``(n_members, chunk, n_leaves)`` float32 calibrated member probabilities."""
    trust, alt = leaf_trust(model), alternative_anchors(model)
    alt_modality = coldstart.anchor_modality(model.modalities_)
    with torch.inference_mode():
        for feats in feature_chunks(X, model.modalities_, model.dims_, chunk_size):
            units = {m: unit_rows(x) for m, x in feats.items()}
            logits, presence = model.net_.forward_units(
                {m: (u.to(model.device), p.to(model.device)) for m, (u, p) in units.items()}
            )
            proba = torch.softmax(logits.float().cpu() / model.temperature_, dim=2)
            if alt is not None:
                scores = coldstart.alternative_proba(
                    units[alt_modality][0], alt[0], alt[1], PROTOTYPE_TEMPERATURE
                )
                proba = coldstart.blend(proba, scores.unsqueeze(0), trust)
            votes = member_mask(presence.cpu(), len(model.members_))
            yield units, calibration.fill_absent(proba, votes)


def leaf_trust(model: HierarchicalClassifier) -> torch.Tensor:
    """``(n_leaves,)`` how far each leaf's head is trusted: ``min(1, count / min_labels)``;
    all 1 without a threshold, all 0 for a model with no trained head."""
    has_head = bool(model.n_epochs_) or model.warm_started_
    if model.min_labels_for_head <= 0 or not has_head:
        return torch.full((model.tree.n_leaves,), 1.0 if has_head else 0.0)
    counts = torch.from_numpy(model.leaf_counts_).float()
    return (counts / model.min_labels_for_head).clamp(max=1.0)


def alternative_anchors(
    model: HierarchicalClassifier,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(n_leaves, d)`` prototype (or name embedding) per leaf and ``(n_leaves,)`` which leaves
    have one; None when every head is trusted (the cold-start scores are then unused)."""
    if bool((leaf_trust(model) >= 1).all()):
        return None
    labelled = torch.from_numpy(model.leaf_counts_ > 0)
    anchors = torch.from_numpy(model.prototypes_[coldstart.anchor_modality(model.modalities_)])
    anchors = anchors.clone()
    if model.zero_shot_ is None:
        return anchors, labelled
    named = torch.from_numpy(model.zero_shot_)
    anchors[~labelled] = named[~labelled]
    return anchors, torch.ones_like(labelled)


def novelty_anchors(model: HierarchicalClassifier) -> dict[str, torch.Tensor]:
    """Per modality, the prototypes of leaves with labels in that modality (a leaf labelled
    only through image-less items has no image prototype); else the category names."""
    anchors = {
        m: torch.from_numpy(p[np.linalg.norm(p, axis=1) > 0]) for m, p in model.prototypes_.items()
    }
    anchors = {m: a for m, a in anchors.items() if len(a)}
    if anchors:
        return anchors
    if model.zero_shot_ is not None:
        return {coldstart.anchor_modality(model.modalities_): torch.from_numpy(model.zero_shot_)}
    return {}


def novelty_distance(
    units: Mapping[str, tuple[torch.Tensor, torch.Tensor]], anchors: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """``(n,)`` float32 ``1 - cos`` of a chunk's unit rows to the nearest anchor, averaged over
    the modalities a row has; 1 where it has none or there are no anchors."""
    n = next(iter(units.values()))[0].shape[0]
    dists = [coldstart.nearest_distance(*units[m], a) for m, a in anchors.items()]
    d = torch.stack(dists).nanmean(0) if dists else torch.ones(n)
    return torch.nan_to_num(d, nan=1.0).float()
