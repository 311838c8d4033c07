"""A small catalog with every status (issue 17), shared by the export_catalog, /api/catalog/
and report tests. Predictions are written by hand; statuses come from the disagreement refresh
that every label write runs (``labelled`` wins, else ``auto_accepted`` where a node is set).

item  prediction (top, decided, p)      accepted (p)        label                   status
A     Shirts, Topwear, 0.70             -                   Shirts (alice, review)  labelled
B     Tshirts, Tshirts, 0.80            Topwear (0.995)     -                       auto_accepted
C     Jeans, abstains, 0.40             -                   -                       needs_review
D     -                                 -                   -                       needs_review
E     -                                 -                   Watches (import)        labelled
F     Sneakers, Sneakers, 0.97          Sneakers (0.97)     -                       auto_accepted
"""

from __future__ import annotations

from dataclasses import dataclass

from labeling.models import Category, Item, Label, ModelVersion, Prediction, TaxonomyVersion
from labeling.services.review.disagreement import disagreement_refresh
from labeling.services.review.labels import label_create
from tests.factories import ItemFactory

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
TOPWEAR = "Apparel > Topwear"
JEANS = "Apparel > Bottomwear > Jeans"
SNEAKERS = "Footwear > Shoes > Sneakers"
WATCHES = "Accessories > Watches"


@dataclass
class Catalog:
    model: ModelVersion
    items: dict[str, Item]
    labels: dict[str, Label]


def predict(
    model: ModelVersion,
    item: Item,
    top: Category,
    p: float,
    *,
    decided: Category | None = None,
    accepted: Category | None = None,
    accepted_p: float | None = None,
) -> Prediction:
    return Prediction.objects.create(
        item=item,
        model_version=model,
        top_category=top,
        decided_category=decided,
        candidates=[{"category": top.pk, "p": p}],
        confidence=p,
        accepted_category=accepted,
        accepted_confidence=accepted_p,
    )


def build(version: TaxonomyVersion, tree: dict[str, Category], reviewer) -> Catalog:
    model = ModelVersion.objects.create(taxonomy_version=version, status="active")
    items = {n: ItemFactory(external_id=f"SKU-{n}", title=f"Item {n}") for n in "ABCDEF"}
    predict(model, items["A"], tree[SHIRTS], 0.7, decided=tree[TOPWEAR])
    predict(
        model,
        items["B"],
        tree[TSHIRTS],
        0.8,
        decided=tree[TSHIRTS],
        accepted=tree[TOPWEAR],
        accepted_p=0.995,
    )
    predict(model, items["C"], tree[JEANS], 0.4)
    predict(
        model,
        items["F"],
        tree[SNEAKERS],
        0.97,
        decided=tree[SNEAKERS],
        accepted=tree[SNEAKERS],
        accepted_p=0.97,
    )
    disagreement_refresh()  # the statuses a rescore chunk would store
    labels = {
        "A": label_create(item=items["A"], category=tree[SHIRTS], author=reviewer, source="review"),
        "E": label_create(item=items["E"], category=tree[WATCHES], author=None, source="import"),
    }
    for item in items.values():
        item.refresh_from_db()
    return Catalog(model, items, labels)
