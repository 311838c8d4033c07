"""What a training run learns from and is judged on: current labels and the held-out split.

The ledger is append-only; an item's current label (``Item.current_label``, kept by
``labeling.services.labels``) is its newest non-retracted label, so reading it respects
retractions and corrections without a window query. Only current labels of the taxonomy
version being trained count.

Evaluation uses every audit label (the random audit slice of the queue: an unbiased sample)
plus a stratified share of the other labels, chosen by a stable per-item hash, so an item
held out once stays held out in later runs: the active model was not trained on the
evaluation items it is compared on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Max

from labeling.models import Item, Label, TaxonomyVersion
from labeling.services.ml import VersionTree

DEFAULT_EVAL_FRACTION = 0.2


@dataclass(frozen=True)
class TrainingConfig:
    """The knobs of a run, from ``settings.TAXOLOOP``.

    Optional keys beyond the settings file: EVAL_FRACTION (0.2), MODEL_PARAMS (constructor
    arguments of HierarchicalClassifier), TRAIN_EPOCH_DELAY_SECONDS (or the environment
    variable TAXOLOOP_TRAIN_EPOCH_DELAY; a test hook that slows training down).
    """

    min_labels: int
    tolerance: float
    threshold: float
    eval_fraction: float
    model_params: Mapping[str, Any]
    epoch_delay: float

    @classmethod
    def from_settings(cls) -> TrainingConfig:
        conf = settings.TAXOLOOP
        delay = conf.get(
            "TRAIN_EPOCH_DELAY_SECONDS", os.environ.get("TAXOLOOP_TRAIN_EPOCH_DELAY", 0)
        )
        return cls(
            min_labels=int(conf["MIN_LABELS_TO_TRAIN"]),
            tolerance=float(conf["PROMOTION_TOLERANCE"]),
            threshold=float(conf["DECISION_THRESHOLD"]),
            eval_fraction=float(conf.get("EVAL_FRACTION", DEFAULT_EVAL_FRACTION)),
            model_params=dict(conf.get("MODEL_PARAMS", {})),
            epoch_delay=float(delay or 0),
        )


@dataclass(frozen=True)
class LabelSet:
    """Current labels of one version, as parallel arrays (one row per labelled item)."""

    item_ids: np.ndarray  # (n,) int64
    nodes: np.ndarray  # (n,) int64 node indices of the version tree
    is_audit: np.ndarray  # (n,) bool
    newest_label_at: datetime | None  # newest ledger row of the version when gathered

    def __len__(self) -> int:
        return len(self.item_ids)

    def subset(self, mask: np.ndarray) -> LabelSet:
        return LabelSet(
            self.item_ids[mask], self.nodes[mask], self.is_audit[mask], self.newest_label_at
        )


def current_labels(version: TaxonomyVersion, vt: VersionTree) -> LabelSet:
    """Every item's current label in ``version`` (retracted and superseded ones left out).

    ``newest_label_at`` is read first, so every ledger row up to that instant is reflected in
    the labels returned: the label-to-model latency is never understated.
    """
    newest = Label.objects.filter(taxonomy_version=version).aggregate(t=Max("created_at"))["t"]
    rows = list(
        Item.objects.filter(
            current_label__taxonomy_version=version, current_label__kind=Label.Kind.LABEL
        )
        .order_by("id")
        .values_list("id", "current_label__category_id", "current_label__is_audit")
    )
    return LabelSet(
        item_ids=np.array([r[0] for r in rows], dtype=np.int64),
        nodes=vt.nodes_of([r[1] for r in rows]),
        is_audit=np.array([r[2] for r in rows], dtype=bool),
        newest_label_at=newest,
    )


def evaluation_mask(labels: LabelSet, *, version_id: int, fraction: float) -> np.ndarray:
    """``(n,)`` bool: held out for evaluation.

    Every audit label, plus each non-audit item whose stable hash falls below ``fraction``:
    every category is split at the same rate (stratified), and an item's side never depends
    on the other items, so items the active model trained on do not drift into the
    evaluation set as labels arrive. Per category with two or more items, at least one is held
    out and at least one is kept for training (the only place the sides can move).
    """
    unit = hash_unit(labels.item_ids, version_id)
    held = labels.is_audit | (unit < fraction)
    for node in np.unique(labels.nodes):
        rows = np.flatnonzero((labels.nodes == node) & ~labels.is_audit)
        if len(rows) < 2:
            held[rows] = False
            continue
        order = rows[np.argsort(unit[rows], kind="stable")]
        if not held[rows].any() and fraction > 0:
            held[order[0]] = True
        if held[rows].all():
            held[order[-1]] = False
    return held


def hash_unit(item_ids: np.ndarray, version_id: int) -> np.ndarray:
    """``(n,)`` float64 in [0, 1): a stable pseudo-random number per (version, item)."""
    return np.array(
        [
            int.from_bytes(hashlib.sha256(f"{version_id}:{i}".encode()).digest()[:8], "big") / 2**64
            for i in item_ids
        ],
        dtype=np.float64,
    )


def has_features(features: dict[str, np.ndarray]) -> np.ndarray:
    """``(n,)`` bool: rows with at least one modality embedded (the rest cannot be used)."""
    present = [np.isfinite(x).all(axis=1) for x in features.values() if x.shape[1]]
    if not present:
        n = len(next(iter(features.values()))) if features else 0
        return np.zeros(n, dtype=bool)
    return np.logical_or.reduce(present)
