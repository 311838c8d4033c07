"""Read side of the reports: catalog by category, low confidence, changed by the last model,
most confused pairs, and the ledger of one item.

Every list report is one query over ``Prediction`` (one row per item) ordered by an indexed
column, paginated by keyset (``after`` = the last row's sort value and id) so that page 2,000
of a million items costs what page 1 costs; there is no total count for the same reason (a
filtered COUNT over a million rows would take longer than the page itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Concat

from labeling.models import Category, Item, Label, Prediction, TaxonomyVersion

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
)


@dataclass(frozen=True)
class ReportFilters:
    """What a report page asks for; built by the view from the query string."""

    report: str = CATALOG
    node: int | None = None  # items whose predicted category is this node or below it
    conf_min: float | None = None
    conf_max: float | None = None
    labelled: bool | None = None  # True: has a current label; False: has none
    disagreement: bool = False  # labelled, and the label is neither the prediction nor above it
    changed: bool = False  # the last model's top category differs from the previous one's
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


def report_page(*, version: TaxonomyVersion, filters: ReportFilters) -> ReportPage:
    """One page of a list report: predictions of the current version's categories with the
    item, its current label (category, source, author) and the categories resolved."""
    qs = report_queryset(version=version, filters=filters)
    size = max(1, min(filters.size, MAX_PAGE_SIZE))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    cursor = _cursor_of(rows[-1], filters.order) if more and rows else ""
    return ReportPage(rows=rows, next_cursor=cursor, filters=filters)


def report_queryset(*, version: TaxonomyVersion, filters: ReportFilters) -> QuerySet[Prediction]:
    """The ordered, filtered predictions of a list report, before the page is cut."""
    qs = Prediction.objects.select_related(*ROW_RELATED).defer(
        "item__description", "item__attributes", "candidates"
    )
    qs = qs.filter(top_category__version=version) if filters.node is None else qs
    for condition in _conditions(version, filters):
        qs = qs.filter(condition)
    qs = qs.order_by(*_ordering(filters.order))
    if filters.after:
        qs = qs.filter(_after(filters.order, filters.after))
    return qs


def _conditions(version: TaxonomyVersion, f: ReportFilters) -> list[Q]:
    out: list[Q] = []
    if f.node is not None:
        out.append(Q(top_category_id__in=leaves_under(version=version, node_id=f.node)))
    if f.report == LOW:
        out.append(Q(confidence__lt=LOW_CONFIDENCE) | Q(decided_category__isnull=True))
    if f.report == CHANGED or f.changed:
        out.append(Q(previous_top_category__isnull=False))
        out.append(~Q(previous_top_category_id=F("top_category_id")))
    if f.conf_min is not None:
        out.append(Q(confidence__gte=f.conf_min))
    if f.conf_max is not None:
        out.append(Q(confidence__lte=f.conf_max))
    if f.labelled is not None:
        out.append(Q(item__current_label__isnull=not f.labelled))
    if f.disagreement:
        out.append(Q(item__current_label__isnull=False) & ~_label_agrees())
    return out


def _label_agrees() -> Q:
    """The current label is the predicted leaf or one of its ancestors (a label "Topwear"
    does not contradict a prediction "Topwear > Shirts")."""
    label_path = F("item__current_label__category__path")
    return Q(item__current_label__category_id=F("top_category_id")) | Q(
        top_category__path__startswith=Concat(label_path, Value(" > "))
    )


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
    column = "confidence" if order.endswith("confidence") else "item_id"
    op = "lt" if order.startswith("-") else "gt"
    return Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"pk__{op}": pk})


def report_row(*, item_id: int) -> Prediction | None:
    """One row of a list report (after an inline correction), or None without a prediction."""
    qs = Prediction.objects.select_related(*ROW_RELATED).filter(item_id=item_id)
    return qs.first()


# -- most confused pairs ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConfusedPair:
    true: Category  # what the audit label says
    predicted: Category  # what the model predicted
    count: int
    item_ids: list[int] = field(default_factory=list)


def confused_pairs(*, version: TaxonomyVersion, limit: int = 20) -> list[ConfusedPair]:
    """The (labelled, predicted) category pairs the model gets wrong most often on the audit
    slice, most frequent first, with the items behind each pair.

    Only standing audit labels count (a retracted one is no evidence), one per item (its
    newest). The prediction is the one shown to the reviewer when it was recorded, else the
    item's current prediction: the audit slice is random, so this is an unbiased estimate of
    where the model errs, unlike pairs from actively chosen items.
    """
    labels = (
        Label.objects.filter(
            taxonomy_version=version, kind=Label.Kind.LABEL, is_audit=True, retractions__isnull=True
        )
        .order_by("item_id", "-created_at", "-id")
        .values_list(
            "item_id", "category_id", "prediction_shown", "item__prediction__top_category_id"
        )
    )
    newest: dict[int, tuple[int, int | None]] = {}
    for item_id, category_id, shown, current_top in labels:
        if item_id not in newest:
            newest[item_id] = (category_id, _shown_top(shown) or current_top)
    return _pairs(newest, version, limit)


def _shown_top(shown: Mapping[str, Any] | None) -> int | None:
    candidates = (shown or {}).get("candidates") or []
    try:
        return int(candidates[0]["category"]) if candidates else None
    except (KeyError, TypeError, ValueError):
        return None


def _pairs(
    newest: Mapping[int, tuple[int, int | None]], version: TaxonomyVersion, limit: int
) -> list[ConfusedPair]:
    paths = dict(Category.objects.filter(version=version).values_list("pk", "path"))
    behind: dict[tuple[int, int], list[int]] = {}
    for item_id, (true, predicted) in sorted(newest.items()):
        if predicted is None or predicted not in paths or agrees(paths, true, predicted):
            continue
        behind.setdefault((true, predicted), []).append(item_id)
    counts = Counter({pair: len(items) for pair, items in behind.items()})
    top = sorted(counts.items(), key=lambda kv: (-kv[1], paths[kv[0][0]], paths[kv[0][1]]))
    cats = Category.objects.in_bulk({c for pair, _ in top[:limit] for c in pair})
    return [ConfusedPair(cats[t], cats[p], n, behind[(t, p)]) for (t, p), n in top[:limit]]


def agrees(paths: Mapping[int, str], label: int, predicted: int) -> bool:
    """A label agrees with a predicted leaf when it is that leaf or one of its ancestors."""
    lp, pp = paths.get(label, ""), paths.get(predicted, "")
    return label == predicted or pp.startswith(lp + " > ")


def confused_pair_items(*, version: TaxonomyVersion, true_id: int, predicted_id: int) -> list[Item]:
    """The items behind one confused pair, with their current label and prediction."""
    for pair in confused_pairs(version=version, limit=10_000):
        if pair.true.pk == true_id and pair.predicted.pk == predicted_id:
            return list(
                Item.objects.filter(pk__in=pair.item_ids)
                .select_related("current_label__category", "prediction__top_category")
                .order_by("pk")
            )
    return []


# -- the ledger of one item -------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    label: Label
    shown_top: Category | None  # what the model predicted when the label was written
    retracted: bool
    is_current: bool


@dataclass(frozen=True)
class ItemLedger:
    item: Item
    prediction: Prediction | None
    lines: list[LedgerLine]


def item_ledger(*, item_id: int) -> ItemLedger | None:
    """Every ledger line of an item, oldest first: who, when, from where, what the model had
    predicted then; and the current prediction (with the previous model's top category)."""
    item = Item.objects.select_related("current_label").filter(pk=item_id).first()
    if item is None:
        return None
    labels = list(
        Label.objects.filter(item=item)
        .select_related("category", "author", "model_version", "retracts")
        .order_by("created_at", "id")
    )
    retracted = {lab.retracts_id for lab in labels if lab.retracts_id}
    tops = Category.objects.in_bulk({t for t in map(_top_of, labels) if t is not None})
    lines = [
        LedgerLine(
            lab, tops.get(_top_of(lab) or 0), lab.pk in retracted, lab.pk == item.current_label_id
        )
        for lab in labels
    ]
    prediction = (
        Prediction.objects.select_related(
            "top_category", "decided_category", "previous_top_category", "model_version"
        )
        .filter(item=item)
        .first()
    )
    return ItemLedger(item=item, prediction=prediction, lines=lines)


def _top_of(label: Label) -> int | None:
    return _shown_top(label.prediction_shown)


def filters_with(filters: ReportFilters, **changes: Any) -> ReportFilters:
    """A copy of ``filters`` with some fields changed (a new sort starts at the first page)."""
    return replace(filters, **changes)


def rows_for_csv(rows: Iterable[Prediction]) -> list[list[str]]:
    """The rows of a report page as CSV cells, the header first (what the page shows)."""
    out = [["external_id", "title", "predicted", "confidence", "decided", "label", "source", "by"]]
    for p in rows:
        label = p.item.current_label
        out.append(
            [
                p.item.external_id,
                p.item.title,
                p.top_category.path,
                f"{p.confidence:.4f}",
                p.decided_category.path if p.decided_category else "",
                label.category.path if label and label.category else "",
                label.source if label else "",
                label.author.get_username() if label and label.author else "",
            ]
        )
    return out
