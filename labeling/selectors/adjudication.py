"""Read side of the adjudication queue (issue 16): the overlaps whose answers disagree, oldest
first, and the card an adjudicator decides one on: the item, every answer with its author, the
model's candidates and the guidelines of the answered categories.

Names, paths and guidelines come from the in-memory index of the current version
(``labeling.selectors.category_index``), as on the review card. Answers given in an older
version (a publish came in between) are mapped into it through the publishes' mappings, so
what the adjudicator picks is a category the ledger accepts. A card costs two queries (the
overlap with its item and prediction, the answers with their authors and categories) however
many answers there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, QuerySet

from labeling.models import Category, Item, Overlap, OverlapAnswer, TaxonomyVersion
from labeling.selectors.category_index import (
    CARD_INDEX_MAX_AGE,
    CategoryIndex,
    category_index_get,
    mapped_into_index,
)
from labeling.selectors.review import CandidateRow, card_candidates


@dataclass(frozen=True)
class AnswerRow:
    key: int  # 1..k: the digit that picks it
    reviewer: str
    path: str  # the category as answered
    category_id: int | None  # the same in the current version; None: nothing live
    current_path: str  # its path in the current version (differs after a publish)
    note: str
    created_at: datetime
    guideline: str = ""  # Markdown; empty: none


@dataclass(frozen=True)
class ChosenRow:
    """A category picked outside the answers and candidates (the search), kept on the card
    when the decision was refused."""

    category_id: int
    path: str
    guideline: str = ""


@dataclass(frozen=True)
class AdjudicationCard:
    overlap: Overlap
    item: Item
    attributes: list[tuple[str, Any]]
    answers: list[AnswerRow]
    candidates: list[CandidateRow]
    chosen: ChosenRow | None
    older_version: bool  # the answers were given in a version that is no longer current

    @property
    def answer_ids(self) -> set[int]:
        """The answers' categories in the current version (a candidate naming one of them is
        not marked as the choice a second time)."""
        return {a.category_id for a in self.answers if a.category_id is not None}


def disputed_overlaps() -> QuerySet[Overlap]:
    """Overlaps waiting for an adjudicator, oldest first (the ``overlap_status`` index)."""
    return Overlap.objects.filter(status=Overlap.Status.DISPUTED).order_by("created_at", "pk")


def disputed_count() -> int:
    return disputed_overlaps().count()


def _with_item(overlaps: QuerySet[Overlap]) -> QuerySet[Overlap]:
    return overlaps.select_related("item", "item__prediction", "taxonomy_version")


def adjudication_next() -> Overlap | None:
    """The oldest disputed overlap with its item and the item's prediction."""
    return _with_item(disputed_overlaps()).first()


def adjudication_overlap_get(*, pk: int) -> Overlap | None:
    """Overlap ``pk`` in any status, with its item and the item's prediction."""
    return _with_item(Overlap.objects.filter(pk=pk)).first()


def adjudication_card(
    *, overlap: Overlap, version: TaxonomyVersion, chosen_id: int | None = None
) -> AdjudicationCard:
    """What the adjudicator sees for ``overlap`` (from ``adjudication_next`` or
    ``adjudication_overlap_get``), in ``version``'s categories. ``chosen_id``: a category the
    adjudicator had picked, kept on the card after a refused decision."""
    item = overlap.item
    index = category_index_get(version, max_age=CARD_INDEX_MAX_AGE)
    answers = _answer_rows(overlap, index)
    prediction = getattr(item, "prediction", None)
    candidates = card_candidates(
        candidates=prediction.candidates if prediction is not None else [], version=version
    )
    shown = {a.category_id for a in answers} | {c.category.pk for c in candidates}
    node = index.by_pk.get(chosen_id) if chosen_id is not None else None
    chosen = (
        ChosenRow(node.pk, node.path, node.guideline) if node and node.pk not in shown else None
    )
    return AdjudicationCard(
        overlap=overlap,
        item=item,
        attributes=sorted((item.attributes or {}).items()),
        answers=answers,
        candidates=candidates,
        chosen=chosen,
        older_version=overlap.taxonomy_version_id != version.pk,
    )


def _answer_rows(overlap: Overlap, index: CategoryIndex) -> list[AnswerRow]:
    rows = list(
        OverlapAnswer.objects.filter(overlap=overlap)
        .select_related("reviewer", "label__category")
        .order_by("created_at", "pk")
    )
    answered = [row.label.category for row in rows]
    old = {c.pk for c in answered if c is not None and c.pk not in index.by_pk}
    moved = mapped_into_index(index, old) if old else {}
    out = []
    for key, (row, category) in enumerate(zip(rows, answered, strict=True), start=1):
        target = _in_index(category, index, moved)
        node = index.by_pk.get(target) if target is not None else None
        out.append(
            AnswerRow(
                key=key,
                reviewer=row.reviewer.get_username(),
                path=category.path if category is not None else "",
                category_id=target,
                current_path=node.path if node else "",
                note=row.label.note,
                created_at=row.label.created_at,
                guideline=node.guideline if node else "",
            )
        )
    return out


def _in_index(category: Category | None, index: CategoryIndex, moved: dict[int, int]) -> int | None:
    if category is None:
        return None
    return category.pk if category.pk in index.by_pk else moved.get(category.pk)


def version_max_depth(*, version: TaxonomyVersion) -> int:
    """The depth of ``version``'s deepest live category (top level: 1; no category: 0)."""
    deepest = Category.objects.filter(version=version, deprecated=False).aggregate(d=Max("depth"))
    return int(deepest["d"] or 0)
