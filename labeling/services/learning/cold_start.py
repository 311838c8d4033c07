"""The cold-start model: category names against item texts, before anyone has labelled.

It is a ``HierarchicalClassifier`` fitted without labels: it only learns the feature
standardisation (from a sample of embedded items) and predicts from the leaves' name
embeddings (``labeling.services.learning.zero_shot``), so the first rescore and queue are useful.

For a version published from another whose model was trained, it starts from that model
mapped onto the new tree (``warm_start``): a publish with few labels on the new
version must not throw away what the old model knew. New categories still start from their
names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from classifier.model import HierarchicalClassifier
from labeling.models import Embedding, ModelVersion, TaxonomyVersion
from labeling.services.learning.ml import (
    active_model_version,
    item_features,
    save_artifact,
    version_tree,
)
from labeling.services.learning.promotion import promote_model
from labeling.services.learning.training_data import TrainingConfig
from labeling.services.learning.warm_start import warm_start_plan
from labeling.services.learning.zero_shot import leaf_name_embeddings

COLD_START_SAMPLE = 5000


def cold_start_model(version: TaxonomyVersion) -> ModelVersion:
    """The zero-shot model of ``version``, active when no model is.

    Returns the active model unchanged when there is one. Otherwise it builds the model,
    stores it and promotes it unless another model became active meanwhile (then it is
    stored as rejected and that one is returned). Promotion rescores the catalog on commit.
    """
    active = active_model_version(version)
    if active is not None:
        return active
    vt = version_tree(version)
    features = {m: x for m, x in item_features(_sample_item_ids()).items() if x.shape[1]}
    config = TrainingConfig.from_settings()
    params = {"seed": 0, **config.model_params, "thresholds": config.threshold}
    warm = warm_start_plan(version, vt, features)
    model = HierarchicalClassifier(vt.tree, **params).fit(
        features,
        np.zeros(0, dtype=np.int64),
        zero_shot=leaf_name_embeddings(vt),
        warm_start=warm.warm_start if warm else None,
    )
    record: dict[str, Any] = {"kind": "cold_start", "sample": len(next(iter(features.values())))}
    if warm is not None:
        record["warm_start"] = warm.config()
    candidate = ModelVersion.objects.create(
        taxonomy_version=version,
        status=ModelVersion.Status.CANDIDATE,
        config=record,
        metrics={"warm_start": warm.metrics()} if warm else {},
    )
    save_artifact(model, candidate)
    with transaction.atomic():
        current = (
            ModelVersion.objects.select_for_update()
            .filter(taxonomy_version=version, status=ModelVersion.Status.ACTIVE)
            .first()
        )
        if current is not None:
            ModelVersion.objects.filter(pk=candidate.pk).update(status=ModelVersion.Status.REJECTED)
            return current
        promote_model(candidate, None)
    return candidate


def _sample_item_ids() -> list[int]:
    """Ids of up to COLD_START_SAMPLE items with a text embedding (for standardisation)."""
    key = settings.TAXOLOOP.get("TEXT_ENCODER", "")
    rows = Embedding.objects.filter(encoder_key=key, vector__isnull=False).order_by("item_id")
    return list(rows.values_list("item_id", flat=True)[:COLD_START_SAMPLE])
