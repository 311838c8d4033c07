"""Read side of catalog items."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from labeling.models import Category, Item
from labeling.selectors.taxonomy import category_subtree_q

# What an item row shows beside itself: its current label and its latest prediction.
ITEM_RELATED = (
    "current_label__category",
    "current_label__author",
    "prediction__top_category",
    "prediction__decided_category",
)
ITEM_ORDERINGS = ("id", "-id", "updated_at", "-updated_at")


def item_list(
    *,
    q: str | None = None,
    source: str | None = None,
    external_id: str | None = None,
    labelled: bool | None = None,
    label_category: Category | None = None,
    predicted_category: Category | None = None,
    updated_since: datetime | None = None,
    ordering: str = "id",
) -> QuerySet[Item]:
    """Items matching every given filter. ``label_category`` matches items whose current label
    is that category or one of its descendants; ``predicted_category`` matches the prediction's
    top or decided category."""
    if ordering not in ITEM_ORDERINGS:
        raise ValueError(f"ordering must be one of {ITEM_ORDERINGS}, not {ordering!r}")
    items = Item.objects.select_related(*ITEM_RELATED)
    filters = {
        "title__icontains": q or None,
        "source": source,
        "external_id": external_id,
        "current_label__isnull": None if labelled is None else not labelled,
        "updated_at__gte": updated_since,
    }
    items = items.filter(**{key: value for key, value in filters.items() if value is not None})
    if label_category is not None:
        items = items.filter(category_subtree_q(label_category, "current_label__category__"))
    if predicted_category is not None:
        items = items.filter(
            Q(prediction__top_category=predicted_category)
            | Q(prediction__decided_category=predicted_category)
        )
    tiebreak = "-id" if ordering.startswith("-") else "id"
    return (
        items.order_by(ordering, tiebreak) if "updated_at" in ordering else items.order_by(ordering)
    )


def item_get(*, pk: int) -> Item | None:
    return Item.objects.select_related(*ITEM_RELATED).filter(pk=pk).first()


def item_get_by_external_id(*, external_id: str) -> Item | None:
    return Item.objects.filter(external_id=external_id).first()
