"""What a training run learns from and is judged on: current labels and the held-out split.

The ledger is append-only; an item's current label (``Item.current_label``, kept by
``labeling.services.review.labels``) is its newest non-retracted label, so reading it respects
retractions and corrections without a window query. Only current labels of the taxonomy
version being trained count.

Evaluation uses every audit label (the random audit slice of the queue: an unbiased sample)
plus a stratified share of the other labels, chosen by a stable hash of the item's duplicate
group (``classifier.splits``: items with the same normalised title or an identical text
embedding), so an item held out once stays held out in later runs (the active model was not
trained on the evaluation items it is compared on), and no held-out title is also a training
title (split by item id, 38 % of the fashion catalog's held-out titles were).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Max

from classifier.splits import (
    duplicate_groups,
    group_units,
    holdout_mask,
    normalise_title,
    stable_unit,
)
from labeling.models import Item, Label, TaxonomyVersion
from labeling.services.learning.label_weights import label_weights
from labeling.services.learning.ml import VersionTree

DEFAULT_EVAL_FRACTION = 0.2


@dataclass(frozen=True)
class TrainingConfig:
    """The knobs of a run, from ``settings.TAXOLOOP``.

    Optional keys beyond the settings file: EVAL_FRACTION (0.2), MODEL_PARAMS (constructor
    arguments of HierarchicalClassifier), TRAIN_EPOCH_DELAY_SECONDS (a test hook that slows
    training down; taxoloop/settings/test.py fills it from the environment).
    """

    min_labels: int
    margin: float
    threshold: float
    eval_fraction: float
    model_params: Mapping[str, Any]
    epoch_delay: float

    @classmethod
    def from_settings(cls) -> TrainingConfig:
        conf = settings.TAXOLOOP
        delay = conf.get("TRAIN_EPOCH_DELAY_SECONDS", 0)
        return cls(
            min_labels=int(conf["MIN_LABELS_TO_TRAIN"]),
            margin=float(conf["PROMOTION_MARGIN"]),
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
    titles: np.ndarray | None = None  # (n,) object: item titles (they group duplicates)
    weights: np.ndarray | None = None  # (n,) float64 (``label_weights``); None: unweighted
    label_ids: np.ndarray | None = None  # (n,) int64 ``Label.id`` of each current label

    def __len__(self) -> int:
        return len(self.item_ids)

    def subset(self, mask: np.ndarray) -> LabelSet:
        return LabelSet(
            self.item_ids[mask],
            self.nodes[mask],
            self.is_audit[mask],
            self.newest_label_at,
            None if self.titles is None else self.titles[mask],
            self.weights_of(mask),
            None if self.label_ids is None else self.label_ids[mask],
        )

    def weights_of(self, mask: np.ndarray) -> np.ndarray | None:
        return None if self.weights is None else self.weights[mask]


def current_labels(version: TaxonomyVersion, vt: VersionTree) -> LabelSet:
    """Every item's current label in ``version`` (retracted and superseded ones left out),
    weighed by what is known of its author (``label_weights``).

    ``newest_label_at`` is read first, so every ledger row up to that instant is reflected in
    the labels returned: the label-to-model latency is never understated.
    """
    newest = Label.objects.filter(taxonomy_version=version).aggregate(t=Max("created_at"))["t"]
    rows = list(
        Item.objects.filter(
            current_label__taxonomy_version=version, current_label__kind=Label.Kind.LABEL
        )
        .order_by("id")
        .values_list(
            "id",
            "current_label__category_id",
            "current_label__is_audit",
            "title",
            "current_label__author_id",
            "current_label__context",
            "current_label_id",
        )
    )
    nodes = vt.nodes_of([r[1] for r in rows])
    return LabelSet(
        item_ids=np.array([r[0] for r in rows], dtype=np.int64),
        nodes=nodes,
        is_audit=np.array([r[2] for r in rows], dtype=bool),
        newest_label_at=newest,
        titles=np.array([r[3] for r in rows], dtype=object),
        weights=label_weights(
            vt=vt, nodes=nodes, authors=[r[4] for r in rows], contexts=[r[5] for r in rows]
        ),
        label_ids=np.array([r[6] for r in rows], dtype=np.int64),
    )


def evaluation_mask(
    labels: LabelSet,
    *,
    version_id: int,
    fraction: float,
    vectors: np.ndarray | None = None,
) -> np.ndarray:
    """``(n,)`` bool: held out for evaluation (``classifier.splits.holdout_mask``).

    Items are grouped by normalised title (``labels.titles``) and by identical ``vectors``
    (``(n, d)``, e.g. the text embeddings; NaN rows join no one), and whole groups go to one
    side. Every audit label is held out, with its group; each other group is held out when
    the stable hash of (version, its title) falls below ``fraction``: every category is
    split at the same rate (stratified), and a group's side does not depend on the other
    items, so items the active model trained on do not drift into the evaluation set as
    labels arrive. Per category with two or more groups, at least one is held out and at
    least one is kept for training (the only place the sides can move). Without titles an
    item's key is its id (each item its own group unless ``vectors`` join it to another).
    """
    if labels.titles is None and vectors is None:
        groups = np.arange(len(labels), dtype=np.int64)
    else:
        groups = duplicate_groups(titles=labels.titles, vectors=vectors)
    keys = (
        [str(i) for i in labels.item_ids]
        if labels.titles is None
        else [normalise_title(t) for t in labels.titles]
    )
    units = group_units(groups, keys, version_id)
    return holdout_mask(labels.nodes, groups, units, fraction, always=labels.is_audit)


def hash_unit(item_ids: np.ndarray, version_id: int) -> np.ndarray:
    """``(n,)`` float64 in [0, 1): a stable pseudo-random number per (version, item)."""
    return stable_unit([str(i) for i in item_ids], version_id)


def has_features(features: dict[str, np.ndarray]) -> np.ndarray:
    """``(n,)`` bool: rows with at least one modality embedded (the rest cannot be used)."""
    present = [np.isfinite(x).all(axis=1) for x in features.values() if x.shape[1]]
    if not present:
        n = len(next(iter(features.values()))) if features else 0
        return np.zeros(n, dtype=bool)
    return np.logical_or.reduce(present)
