"""Read side of the review page's item card: its candidates, the nodes a "not in the taxonomy"
proposal may attach to, and the queue's size per reason.

The card reads its candidates' names, paths and guidelines from the in-memory index of the version's
categories (``labeling.selectors.category_index``), without a query, after mapping candidates
of an older taxonomy version (predictions made before a publish) into the current one. Why the
item is in the queue is ``labeling.selectors.review_reason``; the category search and tree are
``labeling.selectors.category_search``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from labeling.models import Category, Prediction, QueueEntry, TaxonomyVersion
from labeling.selectors.category_index import (
    CARD_INDEX_MAX_AGE,
    IndexNode,
    candidates_in_version,
    category_index_get,
)


@dataclass(frozen=True)
class CandidateRow:
    category: Category
    p: float
    shortcut: int
    guideline: str = ""  # the category's guideline (Markdown); empty: none


def card_candidates(
    *, candidates: Iterable[Mapping[str, Any]], version: TaxonomyVersion, limit: int = 9
) -> list[CandidateRow]:
    """The review card's candidates: categories of ``version`` (see ``candidates_in_version``)
    with keys 1–9 and their guidelines, built from the cached index instead of a query per
    card."""
    mapped = candidates_in_version(candidates, version)[:limit]
    index = category_index_get(version, max_age=CARD_INDEX_MAX_AGE)
    rows = []
    for n, c in enumerate(mapped, start=1):
        node = index.by_pk[c["category"]]
        rows.append(CandidateRow(_category(node, version), c["p"], n, node.guideline))
    return rows


def _category(node: IndexNode, version: TaxonomyVersion) -> Category:
    """An unsaved-looking Category from the index: what the card renders, without a query."""
    return Category(
        pk=node.pk,
        version=version,
        parent_id=node.parent,
        name=node.name,
        path=node.path,
        depth=node.depth,
        is_leaf=node.is_leaf,
        synonyms=list(node.synonyms),
        deprecated=False,
    )


def candidate_rows(candidates: Iterable[Mapping[str, Any]], limit: int = 9) -> list[CandidateRow]:
    """The model's top candidates with their categories (full path), keys 1–9 in order."""
    cands = list(candidates)[:limit]
    cats = Category.objects.in_bulk([int(c["category"]) for c in cands])
    rows: list[CandidateRow] = []
    for c in cands:
        cat = cats.get(int(c["category"]))
        if cat is not None and not cat.deprecated:
            rows.append(CandidateRow(cat, float(c["p"]), len(rows) + 1))
    return rows


def proposal_targets(rows: Iterable[CandidateRow], version: TaxonomyVersion) -> list[TargetNode]:
    """Nodes a "not in the taxonomy" proposal may attach to: the inner ancestors of the
    candidates (deepest first), then the top-level categories (from the in-memory index, so
    no query per ancestor)."""
    index = category_index_get(version, max_age=CARD_INDEX_MAX_AGE)
    seen: dict[int, TargetNode] = {}
    for row in rows:
        node = index.by_pk.get(row.category.pk)
        parent = index.by_pk.get(node.parent) if node and node.parent else None
        while parent is not None:
            seen.setdefault(parent.pk, TargetNode(parent.pk, parent.path))
            parent = index.by_pk.get(parent.parent) if parent.parent else None
    for node in index.top_level:
        seen.setdefault(node.pk, TargetNode(node.pk, node.path))
    return list(seen.values())


@dataclass(frozen=True)
class TargetNode:
    pk: int
    path: str


def prediction_candidates(item_id: int | None) -> list[dict[str, Any]]:
    """The stored candidates of an item's prediction (empty without one)."""
    if item_id is None:
        return []
    row = Prediction.objects.filter(item_id=item_id).values_list("candidates", flat=True).first()
    return list(row or [])


def queue_size_by_reason() -> dict[str, int]:
    """Entries waiting (leased or not) per reason, every reason a key."""
    counts = dict.fromkeys(QueueEntry.Reason.values, 0)
    rows: QuerySet = QueueEntry.objects.order_by().values("reason").annotate(n=Count("pk"))
    for row in rows:
        counts[row["reason"]] = row["n"]
    return counts
