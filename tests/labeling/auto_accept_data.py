"""Hand-made auto-accept figures for the dashboard tests (issue 17): a model's stored
certification as ``labeling.services.learning.auto_accept.certify`` writes it, and predictions
with hand-set statuses."""

from __future__ import annotations

from typing import Any

from labeling.models import Category, ModelVersion, Prediction, TaxonomyVersion
from tests.factories import ItemFactory

SHIRTS = "Apparel > Topwear > Shirts"


def certification(
    tree: dict[str, Category],
    *,
    target: float | None = 0.99,
    root_bound: float | None = 0.9905,
    catalog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Two units (Apparel's, and the catch-all pool), Apparel's branch read, Footwear short
    of audit labels (not pooled) and Accessories covered by the pool."""
    apparel, footwear, accessories = (tree[p] for p in ("Apparel", "Footwear", "Accessories"))
    summary: dict[str, Any] = {
        "target": target,
        "alpha": 0.05,
        "n_audit": 1200,
        "n_reference": 5000,
        "unit_size": 946,
        "units": [
            {
                "category": apparel.pk,
                "n_audit": 950,
                "threshold": 0.97,
                "n_accepted": 480,
                "n_errors": 1,
                "lower_bound": 0.9911,
                "alpha": 0.025,
            },
            {
                "category": None,
                "n_audit": 250,
                "threshold": 0.99 if root_bound else None,
                "n_accepted": 300 if root_bound else 0,
                "n_errors": 0,
                "lower_bound": root_bound,
                "alpha": 0.025,
            },
        ],  # fmt: skip
        "units_certified": 2 if root_bound else 1,
        "leaf_thresholds": {str(tree[SHIRTS].pk): 0.97},
        "audit_needs": [
            {
                "category": footwear.pk,
                "have": 120,
                "need": 946,
                "extra_audit": 8260,
                "covered": False,
            },
            {
                "category": accessories.pk,
                "have": 40,
                "need": 946,
                "extra_audit": 27000,
                "covered": True,
            },
        ],  # fmt: skip
        "branches": [
            {
                "category": apparel.pk,
                "n_accepted": 480,
                "n_errors": 1,
                "precision": 0.997917,
                "lower_bound": 0.990127,
            },
            {
                "category": footwear.pk,
                "n_accepted": 0,
                "n_errors": 0,
                "precision": None,
                "lower_bound": None,
            },
        ],  # fmt: skip
        "certified_at": "2026-03-10T12:00:00+00:00",
    }
    if catalog is not None:
        summary["catalog"] = catalog
    return summary


def snapshot(items: int, auto_accepted: int, by_depth: dict[int, int]) -> dict[str, Any]:
    """A catalog snapshot as a finished rescore job writes it."""
    return {
        "at": "2026-03-10T12:30:00+00:00",
        "items": items,
        "by_status": {
            "labelled": 10,
            "auto_accepted": auto_accepted,
            "needs_review": items - 10 - auto_accepted,
        },  # fmt: skip
        "auto_accepted_by_depth": {str(d): n for d, n in by_depth.items()},
    }


def certified_model(
    version: TaxonomyVersion, status: str, label_count: int, summary: dict[str, Any] | None
) -> ModelVersion:
    metrics: dict[str, Any] = {"n_audit": 100}
    if summary is not None:
        metrics["auto_accept"] = summary
    return ModelVersion.objects.create(
        taxonomy_version=version, status=status, label_count=label_count, metrics=metrics
    )


def predict(
    mv: ModelVersion, tree: dict[str, Category], status: str, accepted_at: str | None = None
) -> Prediction:
    """A prediction of Shirts with a hand-set status (accepted at ``accepted_at``)."""
    return Prediction.objects.create(
        item=ItemFactory(),
        model_version=mv,
        top_category=tree[SHIRTS],
        decided_category=tree[SHIRTS],
        confidence=0.99,
        status=status,
        accepted_category=tree[accepted_at] if accepted_at else None,
    )
