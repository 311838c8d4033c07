"""A small trained model stored like the loop stores one, for the rescore and queue tests."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from classifier.model import HierarchicalClassifier
from labeling.models import Category, Item, ModelVersion, TaxonomyVersion
from labeling.services.learning import ml


def fit_and_store(
    version: TaxonomyVersion,
    examples: Iterable[tuple[Item, Category]],
    *,
    status: str = ModelVersion.Status.ACTIVE,
    seed: int = 0,
) -> ModelVersion:
    """Train a tiny HierarchicalClassifier on ``examples`` and save it as a model version."""
    pairs = list(examples)
    vt = ml.version_tree(version)
    X = ml.item_features([item.pk for item, _ in pairs])
    y = vt.nodes_of([cat.pk for _, cat in pairs])
    model = HierarchicalClassifier(vt.tree, bottleneck=8, max_epochs=30, seed=seed).fit(X, y)
    mv = ModelVersion.objects.create(taxonomy_version=version, status=status, label_count=len(y))
    ml.save_artifact(model, mv)
    return mv


def leaf_proba(mv: ModelVersion, items: Iterable[Item]) -> np.ndarray:
    """The stored model's ``(n, n_leaves)`` probabilities of ``items`` (for hand checks)."""
    model = ml.load_model(mv)
    return model.predict_proba(ml.item_features([i.pk for i in items]))
