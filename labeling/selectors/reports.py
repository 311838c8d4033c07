"""Read side of the list reports: catalog by category, low confidence, changed by the last
model. The most confused pairs and the ledger of one item are in ``report_pairs`` (their
selectors are re-exported here for the tests that still read them from this module).

Every list report is one query over ``Prediction`` (one row per item) ordered by an indexed
column, paginated by keyset (``after`` = the last row's sort value and id) so that page 2,000
of a million items costs what page 1 costs; there is no total count for the same reason (a
filtered COUNT over a million rows would take longer than the page itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.db.models.lookups import StartsWith

from labeling.models import Category, Prediction, TaxonomyVersion
from labeling.selectors import version_mapping as vmap
from labeling.selectors.report_pairs import confused_pair_items, confused_pairs, item_ledger

__all__ = ["confused_pair_items", "confused_pairs", "item_ledger"]

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
LOW_CONFIDENCE = 0.6  # the low-confidence report's default upper bound

# Report names: also the ``context`` of a label written from the report.
CATALOG = "catalog"
LOW = "low-confidence"
CHANGED = "changed"
CONFUSED = "confused"
REPORTS = {
    CATALOG: "Catalog by category",
    LOW: "Low confidence and abstained",
    CHANGED: "Changed by the last model",
    CONFUSED: "Most confused pairs",
}
LIST_REPORTS = (CATALOG, LOW, CHANGED)

SORTS = {
    "-confidence": "confidence, high first",
    "confidence": "confidence, low first",
    "item": "item, oldest first",
    "-item": "item, newest first",
}
DEFAULT_SORT = {CATALOG: "-confidence", LOW: "confidence", CHANGED: "-confidence"}

ROW_RELATED = (
    "item",
    "item__current_label",
    "item__current_label__category",
    "item__current_label__author",
    "top_category",
    "decided_category",
    "previous_top_category",
    "accepted_category",
)


@dataclass(frozen=True)
class ReportFilters:
    """What a report page asks for; built by the view from the query string."""

    report: str = CATALOG
    node: int | None = None  # items whose predicted category is this node or below it
    conf_min: float | None = None
    conf_max: float | None = None
    labelled: bool | None = None  # True: has a current label; False: has none
    labelled_as: int | None = None  # the current label is this node or below it (examples)
    disagreement: bool = False  # labelled, and the label is neither the prediction nor above it
    changed: bool = False  # the last model's top category differs from the previous one's
    status: str = ""  # a Prediction.Status value (issue 17; the status index); empty: any
    sort: str = ""
    after: str = ""  # keyset cursor "<sort value>_<prediction id>"
    size: int = PAGE_SIZE

    @property
    def order(self) -> str:
        return self.sort if self.sort in SORTS else DEFAULT_SORT.get(self.report, "-confidence")


@dataclass(frozen=True)
class ReportPage:
    rows: list[Prediction]
    next_cursor: str  # empty on the last page
    filters: ReportFilters


@dataclass(frozen=True)
class Shown:
    """A row's categories as the page shows them: of the current version, mapped through the
    publishes when the prediction was made by an older version's model."""

    top: Category | None  # None: the old category maps to nothing live (should not happen)
    decided: Category | None
    previous: Category | None
    from_version: int | None = None  # the older version's number; None: the current model's
    needs_review: bool = False  # a publish split the old category: the mapping is coarse
    accepted: Category | None = None  # where the auto-accept policy accepted it (issue 17)


def report_page(*, version: TaxonomyVersion, filters: ReportFilters) -> ReportPage:
    """One page of a list report: predictions in the current version's terms with the item,
    its current label (category, source, author) and the categories resolved (``row.shown``)."""
    older = vmap.older_version_numbers(version)  # the chain once per page: one query
    qs = report_queryset(version=version, filters=filters, older=list(older))
    size = max(1, min(filters.size, MAX_PAGE_SIZE))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    cursor = _cursor_of(rows[-1], filters.order) if more and rows else ""
    return ReportPage(rows=shown_rows(rows, version, older), next_cursor=cursor, filters=filters)


def report_queryset(
    *, version: TaxonomyVersion, filters: ReportFilters, older: list[int] | None = None
) -> QuerySet[Prediction]:
    """The ordered, filtered predictions of a list report, before the page is cut.

    Predictions of the versions ``version`` was published from (``older``: the previous
    model's, until the new version's first model has rescored them) take part with their
    categories mapped into ``version``: the filters compare mapped categories.
    """
    older = vmap.older_versions(version) if older is None else older
    qs = Prediction.objects.select_related(*ROW_RELATED).defer(
        "item__description", "item__attributes", "candidates"
    )
    if filters.node is None:
        qs = qs.filter(top_category__version_id__in=[version.pk, *older])
    qs = _annotate(qs, version, older)
    for condition in _conditions(version, older, filters):
        qs = qs.filter(condition)
    qs = qs.order_by(*_ordering(filters.order))
    if filters.after:
        qs = qs.filter(_after(filters.order, filters.after))
    return qs


def _annotate(
    qs: QuerySet[Prediction], version: TaxonomyVersion, older: list[int]
) -> QuerySet[Prediction]:
    """The mapped categories as SQL columns (nothing to add without an older version)."""
    if not older:
        return qs
    return qs.annotate(
        mapped_top_id=vmap.mapped_category(
            "top_category_id", "top_category__version_id", version, older
        ),
        mapped_decided_id=vmap.mapped_category(
            "decided_category_id", "decided_category__version_id", version, older
        ),
        mapped_previous_id=vmap.mapped_category(
            "previous_top_category_id", "previous_top_category__version_id", version, older
        ),
        mapping_needs_review=vmap.needs_review("top_category_id", version, older),
        mapped_accepted_id=vmap.mapped_category(
            "accepted_category_id", "accepted_category__version_id", version, older
        ),
    )


def _conditions(version: TaxonomyVersion, older: list[int], f: ReportFilters) -> list[Q]:
    out: list[Q] = []
    if f.node is not None:
        under = leaves_under(version=version, node_id=f.node)
        old = vmap.ids_mapping_into(version=version, older=older, targets=under)
        out.append(Q(top_category_id__in=[*under, *old]))
    if f.report == LOW:
        out.append(Q(confidence__lt=LOW_CONFIDENCE) | Q(decided_category__isnull=True))
    if f.report == CHANGED or f.changed:
        out.append(Q(previous_top_category__isnull=False))
        out.append(~Q(previous_top_category_id=F("top_category_id")))
        if older:  # a previous top of another version: compare what both stand for now
            out.append(~Q(mapped_previous_id=F("mapped_top_id")))
    if f.conf_min is not None:
        out.append(Q(confidence__gte=f.conf_min))
    if f.conf_max is not None:
        out.append(Q(confidence__lte=f.conf_max))
    if f.labelled is not None:
        out.append(Q(item__current_label__isnull=not f.labelled))
    if f.labelled_as is not None:
        labelled = leaves_under(version=version, node_id=f.labelled_as)
        out.append(Q(item__current_label__category_id__in=labelled))
    if f.disagreement:
        out.append(_disagrees(version, older))
    if f.status in Prediction.Status.values:
        out.append(Q(status=f.status))
    return out


def _disagrees(version: TaxonomyVersion, older: list[int]) -> Q:
    """The item is labelled and its label contradicts the prediction: the stored flag for the
    current version's predictions (services.disagreement: a partial index holds just those
    rows); for an older model's prediction, the label against what its category stands for
    now, tested here through the mapping."""
    if not older:
        return Q(label_disagrees=True)
    current = Q(top_category__version_id=version.pk)
    return (current & Q(label_disagrees=True)) | (
        ~current & Q(item__current_label__isnull=False) & ~_label_agrees_mapped()
    )


def _label_agrees_mapped() -> Q:
    """The label agrees with the mapped category (services.disagreement's test: the label is
    that category or above it), and a label below it agrees too: a split or a deprecation
    maps an old leaf to an inner node, which a finer label does not contradict."""
    label_path = F("item__current_label__category__path")
    mapped_path = Subquery(Category.objects.filter(pk=OuterRef("mapped_top_id")).values("path")[:1])
    return (
        Q(item__current_label__category_id=F("mapped_top_id"))
        | _below(mapped_path, label_path)
        | _below(label_path, mapped_path)
    )


def _below(path: Any, ancestor: Any) -> Q:
    """SQL: the category at ``path`` is below the one at ``ancestor`` (both expressions)."""
    return Q(StartsWith(path, Concat(ancestor, Value(" > "))))


def leaves_under(*, version: TaxonomyVersion, node_id: int) -> list[int]:
    """Ids of ``node_id`` and every category below it in ``version`` (empty when the node is
    not in ``version``)."""
    node = Category.objects.filter(version=version, pk=node_id).values_list("path", flat=True)
    path = node.first()
    if path is None:
        return []
    below = Category.objects.filter(version=version, path__startswith=path + " > ")
    return [node_id, *below.values_list("pk", flat=True)]


def _ordering(order: str) -> tuple[str, str]:
    return {
        "-confidence": ("-confidence", "-id"),
        "confidence": ("confidence", "id"),
        "item": ("item_id", "id"),
        "-item": ("-item_id", "-id"),
    }[order]


def _cursor_of(row: Prediction, order: str) -> str:
    value = row.confidence if order.endswith("confidence") else row.item_id
    return f"{value!r}_{row.pk}"


def _after(order: str, cursor: str) -> Q:
    """Rows strictly after the cursor in ``order``; an unreadable cursor means the first page."""
    try:
        raw, pk_raw = cursor.rsplit("_", 1)
        pk = int(pk_raw)
        value: float | int = float(raw) if order.endswith("confidence") else int(raw)
    except ValueError:
        return Q()
    if max(abs(pk), abs(value)) > 2**63 - 1:  # past a 64-bit column: SQLite cannot bind it
        return Q()
    column = "confidence" if order.endswith("confidence") else "item_id"
    op = "lt" if order.startswith("-") else "gt"
    return Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"pk__{op}": pk})


def report_row(*, item_id: int, version: TaxonomyVersion | None) -> Prediction | None:
    """One row of a list report (after an inline correction), or None without a prediction."""
    older = vmap.older_version_numbers(version) if version is not None else {}
    qs = Prediction.objects.select_related(*ROW_RELATED).filter(item_id=item_id)
    row = (_annotate(qs, version, list(older)) if version is not None else qs).first()
    return shown_rows([row], version, older)[0] if row is not None else None


def shown_rows(
    rows: list[Prediction], version: TaxonomyVersion | None, older: Mapping[int, int]
) -> list[Prediction]:
    """``rows`` with ``row.shown`` set (``Shown``); ``older`` is
    ``vmap.older_version_numbers(version)``. One query for the mapped categories of the page,
    none when every prediction is of the current version."""
    if version is None or not older:
        for row in rows:
            setattr(row, "shown", _plain(row))  # noqa: B010 (not a model field: mypy)
        return rows
    mapped = ("mapped_top_id", "mapped_decided_id", "mapped_previous_id", "mapped_accepted_id")
    cats = Category.objects.in_bulk({getattr(r, a) for r in rows for a in mapped} - {None})
    for row in rows:
        own = row.top_category.version_id == version.pk
        top, decided, previous, accepted = (cats.get(getattr(row, a)) for a in mapped)
        shown = Shown(
            top,
            decided,
            previous,
            from_version=None if own else older.get(row.top_category.version_id),
            needs_review=bool(getattr(row, "mapping_needs_review", False)),
            accepted=accepted,
        )
        setattr(row, "shown", shown)  # noqa: B010 (not a model field: mypy)
    return rows


def _plain(row: Prediction) -> Shown:
    return Shown(
        row.top_category,
        row.decided_category,
        row.previous_top_category,
        accepted=row.accepted_category,
    )


def filters_with(filters: ReportFilters, **changes: Any) -> ReportFilters:
    """A copy of ``filters`` with some fields changed (a new sort starts at the first page)."""
    return replace(filters, **changes)


def rows_for_csv(rows: Iterable[Prediction]) -> list[list[str]]:
    """The rows of a report page as CSV cells, the header first (what the page shows: the
    categories in the current version's terms, and which model they came from)."""
    out = [
        ["external_id", "title", "predicted", "confidence", "decided", "label", "source", "by"]
        + ["model"]
    ]
    for p in rows:
        label = p.item.current_label
        shown: Shown = getattr(p, "shown", None) or _plain(p)
        out.append(
            [
                p.item.external_id,
                p.item.title,
                shown.top.path if shown.top else "",
                f"{p.confidence:.4f}",
                shown.decided.path if shown.decided else "",
                label.category.path if label and label.category else "",
                label.source if label else "",
                label.author.get_username() if label and label.author else "",
                model_note(shown),
            ]
        )
    return out


def model_note(shown: Shown) -> str:
    """Where an older model's row comes from, in words (empty for the current model's)."""
    if shown.from_version is None:
        return ""
    note = f"previous model (v{shown.from_version}), mapped"
    return note + "; mapping needs review" if shown.needs_review else note
