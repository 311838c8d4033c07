"""``HierarchicalClassifier``: adapters + committee heads over frozen embeddings of a tree."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.model import (
    calibration,
    coldstart,
    decision,
    serialization,
    training,
    warm_start,
)
from classifier.model.losses import class_weights, node_leaf_distance, node_log_mask
from classifier.model.network import CommitteeNet, member_mask, standardisation_stats, unit_rows
from classifier.model.warm_start import WarmStart
from classifier.tree import Tree

Features = Mapping[str, np.ndarray]
# Rows per chunk: small enough for a chunk's (rows, 1280) intermediates to stay in cache
# (measured ~25 % less CPU than 16384), large enough for efficient matrix products.
CHUNK_SIZE = 4096
# Temperature of the cosine scores of prototypes and category names (see zero_shot_proba).
PROTOTYPE_TEMPERATURE = 0.05
# Norm of a modality's features in the fused head relative to the title's. Images are the
# weaker, over-confident modality: at 1/4 the fused head leans on them only where titles are
# ambiguous (fashion, 9.5k items with images: text+image then beats text on accuracy and
# macro-F1; at equal norm it lost on macro-F1). A single-modality model is not scaled.
MODALITY_SHARE = {"image": 0.25}
# Below this many labels the final weights are refitted on all rows (validation included):
# there the held-out 10 % costs accuracy; above it the refit would double the training time.
REFIT_BELOW = 5000
# Fewest optimiser steps a fit may stop at (see ``training.epochs_for``).
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
# Class weights ``count ** -CLASS_BALANCE``. Chosen on a validation split carved from the
# training side of the fashion image subset (3 seeds; the test split untouched): 0.25 against
# 0.5 raised mean macro-F1 of text 0.931 -> 0.933 and of text+image 0.938 -> 0.942, and with
# it text+image beat text on accuracy and macro-F1 for every seed (at 0.5: 2 of 3).
CLASS_BALANCE = 0.25


class HierarchicalClassifier:
    """Committee of heads over adapted frozen embeddings, with a leaf softmax over ``tree``.

    Features are ``{modality: (n, d) float32}``; an item without a modality has a NaN row.
    Labels are node indices of ``tree`` (a leaf, or an inner node for a partial label).
    """

    def __init__(
        self,
        tree: Tree,
        *,
        modalities: Sequence[str] = ("text", "image"),
        bottleneck: int = 0,
        tree_loss_weight: float = 0.2,
        class_balance: float = CLASS_BALANCE,
        max_epochs: int = 60,
        patience: int = 5,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        val_fraction: float = 0.1,
        thresholds: float | Sequence[float] = 0.85,
        min_labels_for_head: int = 1,
        seed: int = 0,
        device: str = "cpu",
        max_steps: int | None = None,
    ) -> None:
        self.tree = tree
        self.modalities = tuple(modalities)
        self.bottleneck = bottleneck
        self.tree_loss_weight = tree_loss_weight
        self.class_balance = class_balance
        self.max_epochs = max_epochs
        self.patience = patience
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.thresholds = thresholds
        self.min_labels_for_head = min_labels_for_head
        self.seed = seed
        self.device = device
        self.max_steps = max_steps

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters except ``tree`` (JSON-friendly)."""
        names = [
            n
            for n in inspect.signature(type(self).__init__).parameters
            if n not in ("self", "tree")
        ]
        params = {n: getattr(self, n) for n in names}
        params["modalities"] = list(self.modalities)
        if not np.isscalar(self.thresholds):
            params["thresholds"] = [float(t) for t in self.thresholds]  # type: ignore[union-attr]
        return params

    # -- fitting -----------------------------------------------------------------------------

    def fit(
        self,
        X: Features,
        y: np.ndarray,
        *,
        zero_shot: np.ndarray | None = None,
        progress: Callable[[int, int], None] | None = None,
        warm_start: WarmStart | None = None,
    ) -> HierarchicalClassifier:
        """Train adapters and heads on ``(n,)`` node labels ``y``, then calibrate.

        Args:
            X: ``{modality: (n, d)}``. With an empty ``y`` it only sets dimensions and
                standardisation (any ``n``): the model then predicts from ``zero_shot`` alone,
                or from the mapped old model under ``warm_start``.
            zero_shot: optional ``(n_leaves, d_text)`` embeddings of the leaves' names/synonyms.
            progress: called with ``(epoch, max_epochs)`` after each epoch.
            warm_start: start from a previous taxonomy version's model instead of a fresh
                network (see :mod:`classifier.model.warm_start`); leaves it maps inherit its
                head rows, prototypes and label counts.
        """
        y = np.asarray(y, dtype=np.int64).reshape(-1)
        self.modalities_ = [m for m in self.modalities if m in X and _present(X[m], len(y))]
        if not self.modalities_:
            raise ValueError(f"X has none of the modalities {self.modalities}")
        X = self._check_X(X, fitted=False)
        n = len(next(iter(X.values())))
        if len(y) and len(y) != n:
            raise ValueError(f"y has {len(y)} labels for {n} rows")
        if ((y < 0) | (y >= self.tree.n_nodes)).any():
            raise ValueError("labels must be node indices of the tree")
        self.dims_ = {m: int(X[m].shape[1]) for m in self.modalities_}
        if warm_start is not None:
            warm_start.check(self.tree, self.dims_)
        self.warm_started_ = warm_start is not None
        self._set_cold_start(X, y, zero_shot, warm_start)
        stats = self._standardisation(X)
        with torch.random.fork_rng():
            self._new_net(stats, warm_start)
            self.members_ = list(self.net_.members)
            self.temperature_ = 1.0
            self.n_epochs_ = self._train(X, y, stats, warm_start, progress) if len(y) else 0
        self.net_.to(self.device).eval()
        return self

    def _set_cold_start(
        self, X: Features, y: np.ndarray, zero_shot: np.ndarray | None, warm: WarmStart | None
    ) -> None:
        leaf_col = self.tree.leaf_index[y] if len(y) else np.zeros(0, np.int64)
        self.prototypes_: dict[str, np.ndarray] = {}
        for m in self.modalities_:
            rows = X[m] if len(y) else X[m][:0]
            protos, counts = coldstart.prototypes(rows, leaf_col, self.tree.n_leaves)
            if warm is not None:
                protos, counts = warm_start.inherit_prototypes(warm, self.tree, m, protos, counts)
            self.prototypes_[m] = protos
            if m == self._alt_modality:
                self.leaf_counts_ = counts.astype(np.int64)
        self.zero_shot_ = None
        if zero_shot is not None:
            zs = np.asarray(zero_shot, dtype=np.float32)
            if zs.shape != (self.tree.n_leaves, X[self._alt_modality].shape[1]):
                raise ValueError(f"zero_shot must be (n_leaves, d_text), got {zs.shape}")
            self.zero_shot_ = zs / np.maximum(np.linalg.norm(zs, axis=1, keepdims=True), 1e-12)

    def _standardisation(self, X: Features) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per-modality ``(mean, std)``; a wider modality is scaled down by ``sqrt(d_min / d)``.

        Standardised, every dimension has unit variance, so a 1280-d image vector would carry
        3.3x the squared norm of a 384-d title and swamp the fused head (measured: text+image
        below text alone). Scaled, each modality brings ``MODALITY_SHARE`` of a title's norm.
        """
        d_min = min(self.dims_.values())
        stats = {}
        for m in self.modalities_:
            mean, std = standardisation_stats(X[m])
            share = MODALITY_SHARE.get(m, 1.0) if len(self.modalities_) > 1 else 1.0
            stats[m] = (mean, std * float(np.sqrt(self.dims_[m] / d_min)) / share)
        return stats

    def _new_net(
        self, stats: Mapping[str, tuple[torch.Tensor, torch.Tensor]], warm: WarmStart | None
    ) -> None:
        """A freshly initialised network (same seed, same initial weights every time), or
        the old model's mapped weights under a warm start."""
        torch.manual_seed(self.seed)
        self.net_ = CommitteeNet(self.dims_, self.tree.n_leaves, self.bottleneck)
        self.net_.set_standardisation(stats)
        if warm is not None:
            warm_start.initialise(self.net_, warm, self.tree)

    def _train(
        self,
        X: Features,
        y: np.ndarray,
        stats: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
        warm: WarmStart | None,
        progress: Callable[[int, int], None] | None,
    ) -> int:
        """Early-stop on a validation split and fit the temperature there, then refit.

        The validation rows pick the number of epochs and the temperature; the final weights
        are then trained again from the same initialisation on *all* rows for that many epochs
        (below ``REFIT_BELOW`` labels, where the held-out rows matter and a refit is cheap).
        With a few hundred labels the 10 % held out is too much to lose (measured on the
        fashion titles: +0.4 to +0.8 points of accuracy at 500 to 2,000 labels).
        """
        groups = training.row_groups(X[self.modalities_[0]])
        tr, va = training.validation_split(y, groups, self.val_fraction, self.seed)
        tt = training.TreeTensors(
            torch.from_numpy(node_log_mask(self.tree)),
            torch.from_numpy(node_leaf_distance(self.tree)),
        )
        val = (self._tensors(X, va), torch.from_numpy(y[va])) if len(va) else None
        epochs, best = self._run(X, y, tr, val, tt, self._config(len(tr)), progress)
        if val is None:
            return epochs
        self._fit_temperature(*val)
        if len(y) >= REFIT_BELOW:
            return epochs
        self._new_net(stats, warm)
        self._run(X, y, np.arange(len(y)), None, tt, self._config(len(y), best), None)
        return epochs

    def step_budget(self) -> int:
        """Most optimiser steps of a fit: ``max_steps``, or ``LEAF_STEP_BUDGET`` / leaves."""
        if self.max_steps is not None:
            return max(int(self.max_steps), 1)
        return max(MIN_STEPS, LEAF_STEP_BUDGET // max(self.tree.n_leaves, 1))

    def _config(self, n_rows: int, epochs: int | None = None) -> training.TrainConfig:
        """The training settings for ``n_rows``; ``epochs`` fixes the count (the refit)."""
        max_epochs = epochs or training.epochs_for(
            n_rows, self.batch_size, self.max_epochs, MIN_STEPS, self.step_budget()
        )
        return training.TrainConfig(
            self.tree_loss_weight,
            max_epochs,
            self.patience,
            self.lr,
            self.weight_decay,
            self.batch_size,
        )

    def _run(
        self,
        X: Features,
        y: np.ndarray,
        rows: np.ndarray,
        val: tuple[dict[str, torch.Tensor], torch.Tensor] | None,
        tt: training.TreeTensors,
        cfg: training.TrainConfig,
        progress: Callable[[int, int], None] | None,
    ) -> tuple[int, int]:
        w = class_weights(np.bincount(y[rows], minlength=self.tree.n_nodes), self.class_balance)
        data = (self._tensors(X, rows), torch.from_numpy(y[rows]), torch.from_numpy(w[y[rows]]))
        gen = torch.Generator().manual_seed(self.seed)
        return training.train(self.net_, data, val, tt, cfg, gen, progress)

    def _tensors(self, X: Features, rows: np.ndarray) -> dict[str, torch.Tensor]:
        return {m: torch.from_numpy(np.ascontiguousarray(X[m][rows])) for m in self.modalities_}

    def calibrate(self, X: Features, y: np.ndarray) -> HierarchicalClassifier:
        """Re-fit ``temperature_`` on held-out ``(n,)`` node labels."""
        X = self._check_X(X)
        feats = next(self._feature_chunks(X, max(len(y), 1)))
        self._fit_temperature(feats, torch.as_tensor(np.asarray(y, dtype=np.int64)))
        return self

    def _fit_temperature(self, feats: dict[str, torch.Tensor], labels: torch.Tensor) -> None:
        self.net_.eval()
        with torch.inference_mode():
            logits, presence = self.net_({m: x.to(self.device) for m, x in feats.items()})
            votes = member_mask(presence, len(self.members_))
            membership = torch.from_numpy(self.tree.leaf_membership.astype(np.float32))
            # Fitted on the fused member: that is what ``predict_proba`` returns.
            self.temperature_ = calibration.fit_temperature(
                logits[:1].cpu(), votes[:1].cpu(), labels.long(), membership
            )

    # -- prediction -------------------------------------------------------------------------

    def predict_committee(self, X: Features, *, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
        """``(n_members, n, n_leaves)`` float32 calibrated probabilities of each member."""
        X = self._check_X(X)
        return np.concatenate([p.numpy() for p in self._member_chunks(X, chunk_size)], axis=1)

    def predict_proba(self, X: Features, *, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
        """``(n, n_leaves)`` float32 calibrated probabilities of the fused member.

        The fused head learns how far to trust each modality; averaging it with the
        single-modality heads let the over-confident image head drag the answer (measured on
        the fashion images: text+image macro-F1 fell below text alone). The other members
        still serve the committee's disagreement (``predict_committee``, ``predict_topk``).
        """
        X = self._check_X(X)
        n = len(next(iter(X.values())))
        out = np.empty((n, self.tree.n_leaves), dtype=np.float32)
        start = 0
        for p in self._member_chunks(X, chunk_size):
            out[start : start + p.shape[1]] = p[0].numpy()
            start += p.shape[1]
        return out

    def predict_topk(
        self, X: Features, k: int = 5, *, chunk_size: int = CHUNK_SIZE
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Top-k leaves without materialising ``(n, n_leaves)``.

        Returns:
            ``top_idx`` ``(n, k)`` int32 leaf columns, ``top_proba`` ``(n, k)`` float32, and
            extras of shape ``(n,)``: ``confidence``, ``margin``, ``entropy``, ``vote_entropy``,
            ``consensus_kl``, ``novelty`` (float32, see :meth:`novelty`) and ``decision``
            (int64 node or -1, see :meth:`decide`).
        """
        X = self._check_X(X)
        anchors = self._novelty_anchors()
        parts: dict[str, list[np.ndarray]] = {}
        # One pass over the features: a rescore of millions of rows reads them only once.
        for feats, members in self._member_chunks_with_features(X, chunk_size):
            proba = members[0]
            stats = decision.uncertainty(members, proba, k)
            stats["decision"] = torch.from_numpy(self._decide_chunk(proba.numpy()))
            stats["novelty"] = self._novelty_chunk(feats, anchors)
            for key, value in stats.items():
                parts.setdefault(key, []).append(value.numpy())
        out = {key: np.concatenate(v) for key, v in parts.items()}
        top_idx = out.pop("top_idx").astype(np.int32)
        top_proba = out.pop("top_proba").astype(np.float32)
        return top_idx, top_proba, out

    def _member_chunks(self, X: Features, chunk_size: int) -> Iterator[torch.Tensor]:
        for _, members in self._member_chunks_with_features(X, chunk_size):
            yield members

    def _member_chunks_with_features(
        self, X: Features, chunk_size: int
    ) -> Iterator[tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], torch.Tensor]]:
        """Per chunk: ``{modality: unit_rows(x)}`` and ``(m, chunk, n_leaves)`` member proba."""
        trust, alt = self._trust(), self._alt_anchors()
        with torch.inference_mode():
            for feats in self._feature_chunks(X, chunk_size):
                units = {m: unit_rows(x) for m, x in feats.items()}
                logits, presence = self.net_.forward_units(
                    {m: (u.to(self.device), p.to(self.device)) for m, (u, p) in units.items()}
                )
                proba = torch.softmax(logits.float().cpu() / self.temperature_, dim=2)
                if alt is not None:
                    scores = coldstart.alternative_proba(
                        units[self._alt_modality][0], alt[0], alt[1], PROTOTYPE_TEMPERATURE
                    )
                    proba = coldstart.blend(proba, scores.unsqueeze(0), trust)
                votes = member_mask(presence.cpu(), len(self.members_))
                yield units, calibration.fill_absent(proba, votes)

    def _feature_chunks(self, X: Features, chunk_size: int) -> Iterator[dict[str, torch.Tensor]]:
        n = len(next(iter(X.values())))
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            yield {
                m: torch.from_numpy(np.asarray(X[m][start:stop], dtype=np.float32))
                if m in X
                else torch.full((stop - start, self.dims_[m]), float("nan"))
                for m in self.modalities_
            }

    @property
    def _alt_modality(self) -> str:
        return "text" if "text" in self.modalities_ else self.modalities_[0]

    def _trust(self) -> torch.Tensor:
        """``(n_leaves,)`` how far each leaf's head is trusted: ``min(1, count / min_labels)``."""
        has_head = bool(self.n_epochs_) or self.warm_started_
        if self.min_labels_for_head <= 0 or not has_head:
            return torch.full((self.tree.n_leaves,), 1.0 if has_head else 0.0)
        counts = torch.from_numpy(self.leaf_counts_).float()
        return (counts / self.min_labels_for_head).clamp(max=1.0)

    def _alt_anchors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Prototype (or name embedding) per leaf and which leaves have one; None when unused."""
        if bool((self._trust() >= 1).all()):
            return None
        labelled = torch.from_numpy(self.leaf_counts_ > 0)
        anchors = torch.from_numpy(self.prototypes_[self._alt_modality]).clone()
        if self.zero_shot_ is None:
            return anchors, labelled
        named = torch.from_numpy(self.zero_shot_)
        anchors[~labelled] = named[~labelled]
        return anchors, torch.ones_like(labelled)

    # -- decisions and novelty --------------------------------------------------------------

    def decide(self, proba: np.ndarray, *, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
        """``(n, n_leaves)`` leaf probabilities → ``(n,)`` int64 node index of the deepest node
        whose probability (sum over its leaves) clears its depth's threshold, or -1."""
        proba = np.asarray(proba, dtype=np.float32)
        parts = [
            self._decide_chunk(proba[s : s + chunk_size]) for s in range(0, len(proba), chunk_size)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _decide_chunk(self, proba: np.ndarray) -> np.ndarray:
        per_depth = decision.depth_thresholds(self.tree, self.thresholds)
        node_threshold = per_depth[self.tree.depth - 1]
        return decision.rollup(self.tree.node_proba(proba), self.tree.depth, node_threshold)

    def novelty(self, X: Features, *, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
        """``(n,)`` float32 ``1 - cos`` to the nearest labelled leaf prototype, averaged over the
        modalities an item has (text, image). Without labels, the distance to the nearest
        category name (``zero_shot``); with neither, 1."""
        X = self._check_X(X)
        anchors = self._novelty_anchors()
        with torch.inference_mode():
            out = [
                self._novelty_chunk({m: unit_rows(x) for m, x in f.items()}, anchors).numpy()
                for f in self._feature_chunks(X, chunk_size)
            ]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    @staticmethod
    def _novelty_chunk(
        units: Mapping[str, tuple[torch.Tensor, torch.Tensor]], anchors: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        n = next(iter(units.values()))[0].shape[0]
        dists = [coldstart.nearest_distance(*units[m], a) for m, a in anchors.items()]
        d = torch.stack(dists).nanmean(0) if dists else torch.ones(n)
        return torch.nan_to_num(d, nan=1.0).float()

    def _novelty_anchors(self) -> dict[str, torch.Tensor]:
        """Per modality, the prototypes of leaves with labels in that modality (a leaf labelled
        only through image-less items has no image prototype); else the category names."""
        anchors = {
            m: torch.from_numpy(p[np.linalg.norm(p, axis=1) > 0])
            for m, p in self.prototypes_.items()
        }
        anchors = {m: a for m, a in anchors.items() if len(a)}
        if anchors:
            return anchors
        if self.zero_shot_ is not None:
            return {self._alt_modality: torch.from_numpy(self.zero_shot_)}
        return {}

    # -- validation and persistence ---------------------------------------------------------

    def _check_X(self, X: Features, fitted: bool = True) -> dict[str, np.ndarray]:
        if not isinstance(X, Mapping):
            raise TypeError("X must be a dict {modality: (n, d) array}")
        arrays = {m: X[m] for m in self.modalities_ if m in X}
        if not arrays:
            raise ValueError(f"X has none of the modalities {self.modalities_}")
        if len({len(a) for a in arrays.values()}) > 1:
            raise ValueError("all arrays in X must have the same number of rows")
        for m, a in arrays.items():
            if a.ndim != 2 or (fitted and a.shape[1] != self.dims_[m]):
                raise ValueError(
                    f"X[{m!r}] must be (n, {self.dims_.get(m, 'd') if fitted else 'd'})"
                )
        return arrays

    def save(self, directory: str | Path) -> None:
        """Write ``config.json`` and ``weights.safetensors`` into ``directory``."""
        serialization.save(self, Path(directory))

    @classmethod
    def load(cls, directory: str | Path, *, device: str = "cpu") -> HierarchicalClassifier:
        """Rebuild a fitted classifier saved by :meth:`save`; predictions are identical."""
        return serialization.load(Path(directory), cls, device=device)


def _present(x: np.ndarray, n_labels: int) -> bool:
    """A modality takes part unless labelled rows exist and none of them has it: a catalog
    without images gives an all-NaN image block, whose heads would learn nothing yet cost
    most of each step and of every prediction (1280-d against a 384-d title: 5,000 labels
    over the Google taxonomy's 4,719 leaves, 300 steps, fit in 75.9 s with it, 24.4 s
    without)."""
    if n_labels == 0 or len(x) == 0:
        return True
    return bool(np.isfinite(x).all(axis=1).any())
