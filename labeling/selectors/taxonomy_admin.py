"""Read side of the taxonomy admin pages: a version's tree with counts, drafts, proposals."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from labeling.models import (
    Category,
    Guideline,
    Item,
    Label,
    ModelVersion,
    Proposal,
    Taxonomy,
    TaxonomyOperation,
    TaxonomyVersion,
)
from labeling.selectors.taxonomy import category_list

SEPARATOR = " > "
TREE_ROWS_SHOWN = 400
SUGGESTIONS_SHOWN = 15


@dataclass(frozen=True)
class TreeRow:
    """One category as the tree page shows it. ``items``: items whose current label is in
    its subtree; ``labels``: ledger labels naming exactly it; ``accuracy``: the active
    model's per-node accuracy when its metrics carry one."""

    category: Category
    items: int
    labels: int
    accuracy: float | None


@dataclass(frozen=True)
class TreePage:
    rows: list[TreeRow]
    total: int
    truncated: bool


def tree_page(*, version: TaxonomyVersion, q: str | None = None) -> TreePage:
    """The categories of ``version`` (matching ``q``: name, path or synonym) with counts,
    each with ``has_guideline``; at most TREE_ROWS_SHOWN rows (a search narrows a large
    taxonomy)."""
    own_items = dict(
        Item.objects.filter(current_label__taxonomy_version=version)
        .values("current_label__category")
        .annotate(n=Count("pk"))
        .values_list("current_label__category", "n")
    )
    labels = dict(
        Label.objects.filter(taxonomy_version=version, kind=Label.Kind.LABEL)
        .values("category")
        .annotate(n=Count("pk"))
        .values_list("category", "n")
    )
    subtree = _subtree_totals(version, own_items)
    accuracy = _node_accuracy(version)
    matching = category_list(version=version, q=q or None)
    total = matching.count()
    matching = matching.annotate(
        has_guideline=Exists(Guideline.objects.filter(category_id=OuterRef("pk")))
    )
    rows = [
        TreeRow(c, subtree.get(c.path, 0), labels.get(c.pk, 0), accuracy.get(c.key))
        for c in matching[:TREE_ROWS_SHOWN]
    ]
    return TreePage(rows=rows, total=total, truncated=total > len(rows))


def _subtree_totals(version: TaxonomyVersion, own: dict[int, int]) -> dict[str, int]:
    """``{path: items labelled in the subtree}``: each count added to the node's ancestors."""
    paths = dict(Category.objects.filter(version=version).values_list("pk", "path"))
    totals: dict[str, int] = {}
    for pk, n in own.items():
        parts = paths.get(pk, "").split(SEPARATOR)
        for depth in range(1, len(parts) + 1):
            prefix = SEPARATOR.join(parts[:depth])
            totals[prefix] = totals.get(prefix, 0) + n
    return totals


def _node_accuracy(version: TaxonomyVersion) -> dict[str, float]:
    model = ModelVersion.objects.filter(
        taxonomy_version=version, status=ModelVersion.Status.ACTIVE
    ).first()
    per_node = (model.metrics or {}).get("per_node_accuracy") if model else None
    return {str(k): float(v) for k, v in (per_node or {}).items()}


def taxonomy_admin_overview() -> list[dict[str, object]]:
    """Each taxonomy with its versions (newest first) and its open draft, if any."""
    out = []
    for taxonomy in Taxonomy.objects.prefetch_related("versions").order_by("name"):
        versions = sorted(taxonomy.versions.all(), key=lambda v: -v.number)
        out.append(
            {
                "taxonomy": taxonomy,
                "versions": versions,
                "current": next((v for v in versions if v.is_current), None),
                "draft": next(
                    (v for v in versions if v.status == TaxonomyVersion.Status.DRAFT), None
                ),
            }
        )
    return out


def category_suggestions(
    *, version: TaxonomyVersion, q: str, limit: int = SUGGESTIONS_SHOWN
) -> list[tuple[str, str]]:
    """``(key, path)`` of a few categories of ``version`` for the draft editor's type-ahead:
    keys starting with ``q`` or names/paths containing it, shallowest first (the top level
    when ``q`` is empty). A datalist of every key would be thousands of options."""
    categories = Category.objects.filter(version=version)
    if q:
        categories = categories.filter(
            Q(key__istartswith=q) | Q(name__icontains=q) | Q(path__icontains=q)
        )
    else:
        categories = categories.filter(depth=1)
    return list(categories.order_by("depth", "path").values_list("key", "path")[:limit])


def draft_operations(*, draft: TaxonomyVersion) -> QuerySet[TaxonomyOperation]:
    return TaxonomyOperation.objects.filter(version=draft).select_related("author").order_by("id")


def proposal_open() -> QuerySet[Proposal]:
    """Reviewers' open "not in the taxonomy" proposals, newest first."""
    return (
        Proposal.objects.filter(status=Proposal.Status.OPEN)
        .select_related("item", "author", "vouched", "label__category")
        .order_by("-created_at", "-id")
    )
