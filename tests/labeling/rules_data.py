"""A small catalog for the rules tests (issue 17), on the conftest's SMALL_TREE.

item         title                  label                      model's top, p
oxford       Oxford shirt blue      Shirts                     Shirts .9
linen        Linen shirt            Tshirts                    Shirts .6
graphic      Graphic T-shirt        Tshirts                    Tshirts .8
jeans        Denim jeans slim fit   Jeans                      Jeans .7   (size 32)
sandals      Leather sandals        -                          Sandals .4 (size 42)
sneakers     Running sneakers       Footwear (coarse)          Sneakers .5
watch        Steel watch            -                          (no prediction)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labeling.models import Category, Item, ModelVersion, Prediction, TaxonomyVersion
from labeling.services.review.labels import label_create
from labeling.services.rules.crud import RuleInput, rule_create
from tests.factories import ItemFactory

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
TOPWEAR = "Apparel > Topwear"
JEANS = "Apparel > Bottomwear > Jeans"
SANDALS = "Footwear > Shoes > Sandals"
SNEAKERS = "Footwear > Shoes > Sneakers"
FOOTWEAR = "Footwear"

CATALOG = [
    ("oxford", "Oxford shirt blue", {}, SHIRTS, SHIRTS, 0.9),
    ("linen", "Linen shirt", {}, TSHIRTS, SHIRTS, 0.6),
    ("graphic", "Graphic T-shirt", {}, TSHIRTS, TSHIRTS, 0.8),
    ("jeans", "Denim jeans slim fit", {"size": 32}, JEANS, JEANS, 0.7),
    ("sandals", "Leather sandals", {"size": "42"}, None, SANDALS, 0.4),
    ("sneakers", "Running sneakers", {}, FOOTWEAR, SNEAKERS, 0.5),
    ("watch", "Steel watch", {}, None, None, None),
]


def make_catalog(version: TaxonomyVersion, tree: Mapping[str, Category]) -> dict[str, Item]:
    """The items above, labelled and predicted (by an active model of ``version``)."""
    mv = ModelVersion.objects.create(taxonomy_version=version, status="active")
    items = {}
    for name, title, attributes, label, top, p in CATALOG:
        item = ItemFactory(external_id=f"SKU-{name}", title=title, attributes=attributes)
        if label is not None:
            label_create(item=item, category=tree[label], author=None, source="import")
        if top is not None:
            Prediction.objects.create(
                item=item,
                model_version=mv,
                top_category=tree[top],
                candidates=[{"category": tree[top].pk, "p": p}],
                confidence=p,
            )
        items[name] = item
    return items


def rule_input(
    name: str = "shirts",
    action: str = "assign",
    category: Any = SHIRTS,
    conditions: Sequence[Mapping[str, Any]] = ({"kind": "words", "value": "shirt"},),
    **more: Any,
) -> RuleInput:
    return RuleInput(name=name, action=action, category=category, conditions=conditions, **more)


def make_rule(version: TaxonomyVersion, **kwargs: Any):
    return rule_create(version=version, data=rule_input(**kwargs), author=None)
