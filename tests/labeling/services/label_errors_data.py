"""Clustered items with correct labels but for a few deliberately wrong ones (issue 17)."""

from __future__ import annotations

from dataclasses import dataclass

from labeling.models import Category, Item, TaxonomyVersion
from labeling.services.review.labels import label_create
from tests.labeling.conftest import small_models_settings
from tests.labeling.services.loop_data import SMALL_MODEL, clustered_items, leaves_of

# Each item of the first leaf named here is labelled as the second: far-apart clusters.
WRONG = [
    ("Shirts", "Watches"),
    ("Jeans", "Sandals"),
    ("Sneakers", "Tshirts"),
]


@dataclass(frozen=True)
class NoisyLabels:
    truth: dict[Item, Category]  # every item's true leaf
    wrong: dict[Item, Category]  # the mislabelled items and the leaf they were given


def label_errors_settings(settings, **extra: object) -> None:
    """Small models without calibration folds, 3 out-of-fold folds, 60 labels minimum."""
    small_models_settings(
        settings,
        **{
            "MODEL_PARAMS": {**SMALL_MODEL, "calibration_folds": 0},
            "LABEL_ERRORS_MIN_LABELS": 60,
            "LABEL_ERRORS_FOLDS": 3,
            **extra,
        },
    )


def noisy_labels(version: TaxonomyVersion, per_leaf: int = 15, seed: int = 4) -> NoisyLabels:
    """``per_leaf`` clustered items per leaf, all labelled, the first item of each leaf in
    ``WRONG`` labelled as its partner leaf."""
    leaves = leaves_of(version)
    by_name = {leaf.name: leaf for leaf in leaves}
    truth = clustered_items(leaves, per_leaf, seed=seed)
    wrong: dict[Item, Category] = {}
    for true_name, given_name in WRONG:
        item = next(i for i, leaf in truth.items() if leaf.name == true_name)
        wrong[item] = by_name[given_name]
    for item, leaf in truth.items():
        label_create(item=item, category=wrong.get(item, leaf), author=None, source="review")
    return NoisyLabels(truth, wrong)
