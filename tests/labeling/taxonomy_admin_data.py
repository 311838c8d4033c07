"""Helpers shared by the taxonomy-admin tests (drafts, publish, proposals, views, API)."""

from __future__ import annotations

from labeling.models import Category, Item, Label, TaxonomyVersion
from labeling.services.review.labels import label_bulk_create
from tests.factories import ItemFactory


def label_items(tree: dict[str, Category], counts: dict[str, int], author=None) -> list[Item]:
    """``counts[path]`` new items labelled with that category of ``tree`` (source import)."""
    pairs = [(ItemFactory(), tree[path]) for path, n in counts.items() for _ in range(n)]
    label_bulk_create(pairs=pairs, author=author, source="import")
    by_pk = Item.objects.select_related("current_label__category").in_bulk([i.pk for i, _ in pairs])
    return [by_pk[item.pk] for item, _ in pairs]


def current_paths(version: TaxonomyVersion) -> dict[str, int]:
    """``{path: items}`` of the items whose current label is on ``version``."""
    out: dict[str, int] = {}
    for item in Item.objects.filter(current_label__taxonomy_version=version).select_related(
        "current_label__category"
    ):
        path = item.current_label.category.path
        out[path] = out.get(path, 0) + 1
    return out


def ledger_size() -> int:
    return Label.objects.count()


def keys(version: TaxonomyVersion) -> dict[str, Category]:
    return {c.key: c for c in Category.objects.filter(version=version)}
