"""A catalog scored by a v1 model, then a publish of v2 (rename, merge, split) before v2 has a
model: what the reports and the dashboard show in between (issue 6). Shared by the selector
and view tests of the reports and the dashboard.

v1 (SMALL_TREE) → v2: Jeans renamed Denim, Tshirts merged into Shirts, Sandals split into
Flip-flops and Slides (its items go to re-review; it stays, as an inner node).

item  v1 top    conf  decided  previous  label (v1, migrated)   v2 terms
A     Shirts    0.90  yes      -         Shirts (audit)         Shirts
B     Tshirts   0.80  yes      -         Jeans (audit)          Shirts, label Denim: disagrees
C     Jeans     0.70  yes      -         -                      Denim
D     Sandals   0.60  yes      -         Sandals (audit)        Sandals (needs review), agrees
E     Sneakers  0.50  yes      -         Sandals                Sneakers, label Sandals: disagrees
F     Watches   0.40  no       Shirts    -                      changed (Shirts → Watches)
G     Tshirts   0.30  no       Shirts    -                      not changed (both Shirts now)
H     Sandals   0.25  no       -         Sandals, then Slides   Sandals; a finer label agrees
"""

from __future__ import annotations

from dataclasses import dataclass

from labeling.models import Category, Item, ModelVersion, Prediction, TaxonomyVersion
from labeling.services.review.disagreement import disagreement_refresh
from labeling.services.review.labels import label_create
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.factories import ItemFactory

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
JEANS = "Apparel > Bottomwear > Jeans"
DENIM = "Apparel > Bottomwear > Denim"
SANDALS = "Footwear > Shoes > Sandals"
SLIDES = "Footwear > Shoes > Sandals > Slides"
SNEAKERS = "Footwear > Shoes > Sneakers"
WATCHES = "Accessories > Watches"
TOPWEAR = "Apparel > Topwear"

# (name, v1 top, confidence, decided, previous top, label, audit)
ROWS = [
    ("A", SHIRTS, 0.9, True, None, SHIRTS, True),
    ("B", TSHIRTS, 0.8, True, None, JEANS, True),
    ("C", JEANS, 0.7, True, None, None, False),
    ("D", SANDALS, 0.6, True, None, SANDALS, True),
    ("E", SNEAKERS, 0.5, True, None, SANDALS, False),
    ("F", WATCHES, 0.4, False, SHIRTS, None, False),
    ("G", TSHIRTS, 0.3, False, SHIRTS, None, False),
    ("H", SANDALS, 0.25, False, None, SANDALS, False),
]


@dataclass
class AcrossVersions:
    v1: TaxonomyVersion
    v2: TaxonomyVersion
    old: dict[str, Category]  # v1 categories by path
    new: dict[str, Category]  # v2 categories by path
    model: ModelVersion  # v1's active model
    items: dict[str, Item]


def score_v1(version: TaxonomyVersion, tree: dict[str, Category], author) -> tuple:
    """The v1 model, one prediction per row of ROWS and the labels; (model, items by name)."""
    model = ModelVersion.objects.create(
        taxonomy_version=version,
        status="active",
        label_count=40,
        metrics={"n_audit": 3, "audit": {"leaf_accuracy": 0.75, "accuracy_by_depth": {"1": 0.9}}},
    )
    items = {}
    for name, top, p, decided, previous, label, audit in ROWS:
        item = ItemFactory(title=f"Item {name}", external_id=f"SKU-{name}")
        Prediction.objects.create(
            item=item,
            model_version=model,
            top_category=tree[top],
            decided_category=tree[top] if decided else None,
            previous_top_category=tree[previous] if previous else None,
            candidates=[{"category": tree[top].pk, "p": p}],
            confidence=p,
        )
        if label:
            label_create(
                item=item, category=tree[label], author=author, source="review", is_audit=audit
            )
        items[name] = item
    return model, items


def publish_v2(version: TaxonomyVersion, admin) -> TaxonomyVersion:
    """Publish a draft of ``version`` with a rename, a merge and a split (the real services)."""
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=admin)
    drafts.category_rename(draft=draft, key=key_of(version, JEANS), name="Denim", author=admin)
    drafts.category_merge(
        draft=draft,
        source_keys=[key_of(version, TSHIRTS)],
        target_key=key_of(version, SHIRTS),
        author=admin,
    )
    drafts.category_split(
        draft=draft, key=key_of(version, SANDALS), names=["Flip-flops", "Slides"], author=admin
    )
    taxonomy_publish(draft=draft, author=admin)
    draft.refresh_from_db()
    return draft


def key_of(version: TaxonomyVersion, path: str) -> str:
    return Category.objects.get(version=version, path=path).key


def build(version, tree, reviewer, admin) -> AcrossVersions:
    """v1 scored and labelled, v2 published; H relabelled on a new Sandals child after it."""
    model, items = score_v1(version, tree, reviewer)
    v2 = publish_v2(version, admin)
    new = {c.path: c for c in Category.objects.filter(version=v2)}
    label_create(item=items["H"], category=new[SLIDES], author=reviewer, source="review")
    return AcrossVersions(version, v2, tree, new, model, items)


def rescore_with_v2(av: AcrossVersions) -> ModelVersion:
    """v2's first model, active, rescoring every item onto its own categories: each item's
    mapped category (Sandals, now inner: Slides) at confidence 0.05 lower, previous top = the v1 top (as the scoring write
    path stores it across a publish)."""
    model = ModelVersion.objects.create(taxonomy_version=av.v2, status="active", label_count=50)
    moved = {JEANS: DENIM, TSHIRTS: SHIRTS, SANDALS: SLIDES}  # a model predicts leaves
    for name, top, p, _decided, _previous, _label, _audit in ROWS:
        mapped = av.new[moved.get(top, top)]
        Prediction.objects.filter(item=av.items[name]).update(
            model_version=model,
            top_category=mapped,
            decided_category=mapped,
            previous_top_category=av.old[top],
            candidates=[{"category": mapped.pk, "p": round(p - 0.05, 2)}],
            confidence=round(p - 0.05, 2),
        )
    disagreement_refresh()  # the scoring write path sets the flag with each chunk
    return model
