"""Queue entries for the review tests: items with predictions of an active model."""

from __future__ import annotations

from labeling.models import Category, ModelVersion, Prediction, QueueEntry, TaxonomyVersion
from tests.factories import ItemFactory

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
JEANS = "Apparel > Bottomwear > Jeans"


def candidates_of(tree: dict[str, Category]) -> list[dict]:
    return [
        {"category": tree[SHIRTS].pk, "p": 0.55},
        {"category": tree[TSHIRTS].pk, "p": 0.4},
        {"category": tree[JEANS].pk, "p": 0.05},
    ]


def make_queue(
    version: TaxonomyVersion, tree: dict[str, Category], n: int = 3, reason: str = "uncertain"
) -> list[QueueEntry]:
    """``n`` entries, priorities 1.0, 0.9, …; each item has the same three candidates."""
    mv = ModelVersion.objects.filter(taxonomy_version=version, status="active").first()
    mv = mv or ModelVersion.objects.create(taxonomy_version=version, status="active")
    entries = []
    for i in range(n):
        item = ItemFactory(
            title=f"Oxford shirt {i}",
            description="Cotton, long sleeves",
            attributes={"colour": "blue", "gender": "Men"},
        )
        Prediction.objects.create(
            item=item,
            model_version=mv,
            top_category=tree[SHIRTS],
            candidates=candidates_of(tree),
            confidence=0.55,
            margin=0.15,
        )
        detail = (
            {"audit": True}
            if reason == "audit"
            else {"between": [tree[SHIRTS].pk, tree[TSHIRTS].pk], "margin": 0.15}
        )
        entries.append(
            QueueEntry.objects.create(
                item=item,
                priority=1.0 - i / 10,
                reason=reason,
                detail=detail,
                model_version=mv,
            )
        )
    return entries


def queue_entry_at(
    tree: dict[str, Category], path: str, reason: str = "uncertain", priority: float = 0.5
) -> QueueEntry:
    """One entry whose item's top predicted category is ``tree[path]``."""
    category = tree[path]
    mv = ModelVersion.objects.filter(taxonomy_version=category.version, status="active").first()
    mv = mv or ModelVersion.objects.create(taxonomy_version=category.version, status="active")
    item = ItemFactory(title=f"{path} item {priority}")
    Prediction.objects.create(
        item=item,
        model_version=mv,
        top_category=category,
        candidates=[{"category": category.pk, "p": 0.6}],
        confidence=0.6,
    )
    return QueueEntry.objects.create(item=item, priority=priority, reason=reason, model_version=mv)
