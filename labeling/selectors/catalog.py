"""Read side of the catalog's final categories (issue 17): every item with its status and,
when there is one, the category downstream systems may publish it under.

An item's status is its prediction's stored ``Prediction.status`` (kept in step with labels by
``services.review.disagreement``); an item the model has not scored yet is ``labelled`` when it
has a current label and ``needs_review`` otherwise. Its final category is:

- ``labelled``: the current label's category (a person decided; no confidence);
- ``auto_accepted``: ``Prediction.accepted_category``, the node the certified policy accepted
  the prediction at (possibly an inner node), with ``accepted_confidence``;
- ``needs_review``: none; the model's opinion (top leaf, roll-up decision, its confidence)
  is still given beside it.

Categories are given in the current taxonomy version's terms: a prediction an older version's
model made (after a publish, before the new model's rescore) names that version's categories,
which are mapped through the publishes (``category_index.categories_mapped_into``, the walk the
review card and the reports use). A mapping only keeps a category or makes it coarser (rename,
move, merge, split, deprecation to the parent), so an auto-accepted category stays as certain.
One that maps to nothing (another taxonomy's) is left empty, its status unchanged.

Rows stream in item order: ``catalog_values`` is one query (items, their prediction, label and
its author joined), and each chunk of rows costs at most a lookup of the categories not seen yet
and of the original decisions behind migrated labels (``label_origins``), never a query per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db.models import Case, CharField, FilteredRelation, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from labeling.models import Category, Item, Label, Prediction, TaxonomyVersion
from labeling.selectors import version_mapping as vmap
from labeling.selectors.category_index import categories_mapped_into
from labeling.selectors.label_origins import label_origins
from labeling.selectors.reports import leaves_under

CHUNK_SIZE = 2000
STATUSES: tuple[str, ...] = tuple(Prediction.Status.values)
LABELLED, AUTO_ACCEPTED, NEEDS_REVIEW = "labelled", "auto_accepted", "needs_review"
_IN_LIST = 500  # category ids per lookup query (well under SQLite's bound on parameters)

# The value rows: name -> ORM lookup (``pred``: the item's prediction, see catalog_values).
_VALUES = {
    "id": "id",
    "external_id": "external_id",
    "title": "title",
    "status": "catalog_status",
    "label_id": "current_label_id",
    "label_category": "current_label__category_id",
    "label_author": "current_label__author__username",
    "label_source": "current_label__source",
    "migrated_from": "current_label__migrated_from_id",
    "model_version": "pred__model_version_id",
    "top": "pred__top_category_id",
    "decided": "pred__decided_category_id",
    "confidence": "pred__confidence",
    "accepted": "pred__accepted_category_id",
    "accepted_confidence": "pred__accepted_confidence",
    "rule": "pred__rule__name",
}


@dataclass(frozen=True)
class CategoryRef:
    """A category of the current version as a catalog row names it."""

    id: int
    key: str
    name: str
    path: str
    depth: int


@dataclass(frozen=True)
class CatalogLabel:
    id: int
    author: str | None  # the original decision's author (None: an import, an agreement)
    source: str  # the original decision's source


@dataclass(frozen=True)
class CatalogRow:
    item_id: int
    external_id: str
    title: str
    status: str  # a Prediction.Status value
    category: CategoryRef | None  # the final category; None while the item needs review
    confidence: float | None  # of the final decision (see confidence_of)
    model_version: int | None  # None: not scored yet
    predicted: CategoryRef | None  # the model's top leaf
    decided: CategoryRef | None  # the model's roll-up decision; None: it abstained
    label: CatalogLabel | None
    rule: str | None  # the name of the rule that decided the prediction; None: none did

    @property
    def depth(self) -> int | None:
        return self.category.depth if self.category else None


def catalog_values(
    *,
    version: TaxonomyVersion,
    statuses: Iterable[str] = (),
    under: Category | None = None,
    after: int = 0,
) -> QuerySet[Item, dict[str, Any]]:
    """Every item as a dict of raw columns, in item order (``id``): only ``statuses`` (any
    when empty), only items whose final category is ``under`` or below it (a category of
    ``version``), only items after the id ``after`` (a keyset page). Turn them into rows with
    ``catalog_rows_of``."""
    # The bound is repeated on the prediction's side of the join: PostgreSQL does not carry
    # ``item.id > n`` over to it, and a merge join would read the predictions from the first
    # one (a page 900,000 items deep, PostgreSQL: 500 ms; with the bound, the request 10 ms).
    qs = Item.objects.filter(id__gt=after).annotate(
        pred=FilteredRelation("prediction", condition=Q(prediction__item_id__gt=after)),
        catalog_status=_status(),
    )
    wanted = [s for s in statuses if s in STATUSES]
    if wanted:
        qs = qs.filter(catalog_status__in=wanted)
    if under is not None:
        qs = qs.filter(_final_under(version, under))
    return qs.order_by("id").values(*_VALUES.values())


def _status() -> Coalesce:
    """SQL: the stored status, or for an item without a prediction what its label says."""
    unscored = Case(
        When(current_label__isnull=False, then=Value(LABELLED)),
        default=Value(NEEDS_REVIEW),
        output_field=CharField(),
    )
    return Coalesce("pred__status", unscored, output_field=CharField())


def _final_under(version: TaxonomyVersion, under: Category) -> Q:
    """The final category is ``under`` or below it (an older model's accepted categories
    mapped into it too): the labels and predictions of those categories, found through their
    indexes, rather than a test on every item's joined row (a rare leaf of a million items:
    35-150 ms instead of 500 ms on PostgreSQL)."""
    ids = leaves_under(version=version, node_id=under.pk)
    older = vmap.older_versions(version)
    old = vmap.ids_mapping_into(version=version, older=older, targets=ids) if older else []
    labels = Label.objects.filter(category_id__in=ids).values("id")
    accepted = Prediction.objects.filter(accepted_category_id__in=[*ids, *old]).values("item_id")
    return Q(catalog_status=LABELLED, current_label__in=labels) | Q(
        catalog_status=AUTO_ACCEPTED, id__in=accepted
    )


def catalog_rows(
    *,
    version: TaxonomyVersion,
    statuses: Iterable[str] = (),
    under: Category | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[list[CatalogRow]]:
    """``catalog_values`` streamed from the database in chunks of rows (a million items in
    the memory of one chunk)."""
    values = catalog_values(version=version, statuses=statuses, under=under)
    stream = values.iterator(chunk_size=chunk_size)
    terms = CategoryTerms(version)
    while chunk := list(islice(stream, chunk_size)):
        yield catalog_rows_of(values=chunk, terms=terms)


def catalog_rows_of(*, values: Iterable[dict[str, Any]], terms: CategoryTerms) -> list[CatalogRow]:
    """Rows of ``catalog_values`` dicts, their categories resolved in one go."""
    raw = [{name: row[lookup] for name, lookup in _VALUES.items()} for row in values]
    terms.resolve(r[c] for r in raw for c in ("label_category", "top", "decided", "accepted"))
    origins = label_origins(ids={r["migrated_from"] for r in raw if r["migrated_from"]})
    out = []
    for r in raw:
        origin = origins.get(r["migrated_from"]) if r["migrated_from"] else None
        label = None
        if origin is not None:  # carried over by a publish: the decision is still its author's
            label = CatalogLabel(r["label_id"], origin.author, origin.source)
        elif r["label_id"] is not None:
            label = CatalogLabel(r["label_id"], r["label_author"], r["label_source"])
        out.append(_row(r, terms, label))
    return out


def _row(r: dict[str, Any], terms: CategoryTerms, label: CatalogLabel | None) -> CatalogRow:
    final = {LABELLED: r["label_category"], AUTO_ACCEPTED: r["accepted"]}.get(r["status"])
    return CatalogRow(
        item_id=r["id"],
        external_id=r["external_id"],
        title=r["title"],
        status=r["status"],
        category=terms.get(final),
        confidence=confidence_of(r["status"], r["confidence"], r["accepted_confidence"]),
        model_version=r["model_version"],
        predicted=terms.get(r["top"]),
        decided=terms.get(r["decided"]),
        label=label,
        rule=r["rule"],
    )


def confidence_of(status: str, predicted: float | None, accepted: float | None) -> float | None:
    """The confidence of a row's decision: the accepted node's probability for an
    auto-accepted item, none for a labelled one (a person decided), and the model's
    confidence in its top category for one that needs review (None: not scored)."""
    if status == LABELLED:
        return None
    return accepted if status == AUTO_ACCEPTED else predicted


class CategoryTerms:
    """Category ids of any version -> ``CategoryRef`` of ``version`` (mapped through the
    publishes when older), remembered: a catalog names its few thousand categories again and
    again, so after the first chunks a chunk needs no category query at all."""

    def __init__(self, version: TaxonomyVersion) -> None:
        self.version = version
        self._refs: dict[int, CategoryRef | None] = {}

    def get(self, pk: int | None) -> CategoryRef | None:
        return None if pk is None else self._refs.get(pk)

    def resolve(self, ids: Iterable[int | None]) -> None:
        missing = {pk for pk in ids if pk is not None} - self._refs.keys()
        if not missing:
            return
        older = set(missing)
        for ref in self._load(missing):
            self._refs[ref.id] = ref
            older.discard(ref.id)
        if not older:
            return
        mapped = categories_mapped_into(version=self.version, old_ids=older)
        for ref in self._load(set(mapped.values()) - self._refs.keys()):
            self._refs[ref.id] = ref
        for pk in older:
            self._refs[pk] = self.get(mapped.get(pk))

    def _load(self, ids: set[int]) -> Iterator[CategoryRef]:
        ordered = sorted(ids)
        for start in range(0, len(ordered), _IN_LIST):
            rows = (
                Category.objects.filter(
                    version=self.version, pk__in=ordered[start : start + _IN_LIST]
                )
                .order_by()  # no join for Meta.ordering
                .values_list("pk", "key", "name", "path", "depth")
            )
            for pk, key, name, path, depth in rows:
                yield CategoryRef(pk, key, name, path, depth)
