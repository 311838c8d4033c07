"""Labels carried over by two taxonomy publishes (v1 → v2 → v3), for the exports, the REST
ledger and the item ledger page: the migration is provenance, the decision stays its
author's (issue 14).

item  v1 label                      v2 (Shirts renamed)     v3 (renamed again)
A     Shirts, alice, review         migrated                migrated (current)
B     Watches, no author, import    migrated                migrated (current)
C     Shirts, alice, review; then   migrated; then Jeans    migrated (current: bob's inline
      nothing more                  by bob, inline          label, once migrated)
"""

from __future__ import annotations

from dataclasses import dataclass

from labeling.models import Item, Label, TaxonomyVersion
from labeling.services.review.labels import label_create
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.factories import ItemFactory

SHIRTS = "Apparel > Topwear > Shirts"
JEANS = "Apparel > Bottomwear > Jeans"
WATCHES = "Accessories > Watches"
SHIRTS_KEY = "apparel/topwear/shirts"


@dataclass
class Chain:
    v3: TaxonomyVersion
    originals: dict[str, Label]  # the decision behind each item's current label
    current: dict[str, Label]  # each item's current label (a migration row of v3)


def publish_renaming_shirts(version: TaxonomyVersion, name: str, bob) -> TaxonomyVersion:
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_rename(draft=draft, key=SHIRTS_KEY, name=name, author=bob)
    return taxonomy_publish(draft=draft, author=bob).version


def two_publishes(version, tree, alice, bob) -> Chain:
    a, b, c = (ItemFactory(external_id=x, title=f"Title {x}") for x in "ABC")
    originals = {
        "A": label_create(item=a, category=tree[SHIRTS], author=alice, source="review"),
        "B": label_create(item=b, category=tree[WATCHES], author=None, source="import"),
    }
    label_create(item=c, category=tree[SHIRTS], author=alice, source="review")
    v2 = publish_renaming_shirts(version, "Shirts & Blouses", bob)
    jeans_v2 = v2.categories.get(path=JEANS)
    originals["C"] = label_create(item=c, category=jeans_v2, author=bob, source="inline")
    v3 = publish_renaming_shirts(v2, "Blouses", bob)
    current = {x: Item.objects.get(external_id=x).current_label for x in "ABC"}
    return Chain(v3=v3, originals=originals, current=current)
