"""Read side of predictions."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from labeling.models import Category, Prediction

PREDICTION_RELATED = ("item", "top_category", "decided_category", "accepted_category", "rule")


def prediction_list(
    *,
    category_id: int | None = None,
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    abstain: bool | None = None,
    model_version_id: int | None = None,
    statuses: Iterable[str] = (),
) -> QuerySet[Prediction]:
    """Latest predictions in item order. ``category_id`` matches the top or the decided
    category; ``abstain`` selects predictions with (False) or without (True) a decision;
    ``statuses`` (``Prediction.Status`` values) any of them, every status when empty."""
    filters = {
        "confidence__gte": min_confidence,
        "confidence__lte": max_confidence,
        "decided_category__isnull": abstain,
        "model_version_id": model_version_id,
    }
    predictions = Prediction.objects.select_related(*PREDICTION_RELATED).order_by("item_id")
    predictions = predictions.filter(**{k: v for k, v in filters.items() if v is not None})
    if statuses:
        predictions = predictions.filter(status__in=list(statuses))
    if category_id is not None:
        predictions = predictions.filter(
            Q(top_category_id=category_id) | Q(decided_category_id=category_id)
        )
    return predictions


def prediction_for_item(*, item_id: int) -> Prediction | None:
    return Prediction.objects.select_related(*PREDICTION_RELATED).filter(item_id=item_id).first()


def predictions_attach_candidate_paths(predictions: Iterable[Prediction]) -> None:
    """Set ``candidate_rows`` ([{"category", "path", "p"}]) on each prediction, resolving the
    candidates' category ids with one query for all of them."""
    predictions = list(predictions)
    ids = {c.get("category") for p in predictions for c in p.candidates or []}
    paths = dict(Category.objects.filter(pk__in=ids - {None}).values_list("pk", "path"))
    for prediction in predictions:
        prediction.candidate_rows = [
            {"category": c.get("category"), "path": paths.get(c.get("category")), "p": c.get("p")}
            for c in prediction.candidates or []
        ]
