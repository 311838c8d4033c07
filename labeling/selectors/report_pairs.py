"""Read side of the reports on the ledger: the most confused (labelled, predicted) pairs on
the audit slice, and the ledger of one item. The list reports are in ``reports``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labeling.models import Category, Item, Label, Prediction, TaxonomyVersion
from labeling.selectors import version_mapping as vmap
from labeling.selectors.label_origins import label_origins_in
from labeling.selectors.labels import Viewer, labels_visible_to

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
    return _pairs(_in_version(newest, version), version, limit)


def _in_version(
    newest: Mapping[int, tuple[int, int | None]], version: TaxonomyVersion
) -> dict[int, tuple[int, int | None, bool]]:
    """Predicted categories mapped into ``version`` (an older model's, after a publish), each
    with whether it was mapped; unmappable ones become None and are left out."""
    now = vmap.to_current(version=version, ids={p for _, p in newest.values()})
    return {
        item: (true, now.get(p) if p is not None else None, p is not None and now.get(p) != p)
        for item, (true, p) in newest.items()
    }


def _shown_top(shown: Mapping[str, Any] | None) -> int | None:
    candidates = (shown or {}).get("candidates") or []
    try:
        return int(candidates[0]["category"]) if candidates else None
    except (KeyError, TypeError, ValueError):
        return None


def _pairs(
    newest: Mapping[int, tuple[int, int | None, bool]], version: TaxonomyVersion, limit: int
) -> list[ConfusedPair]:
    paths = dict(Category.objects.filter(version=version).values_list("pk", "path"))
    behind: dict[tuple[int, int], list[int]] = {}
    for item_id, (true, predicted, mapped) in sorted(newest.items()):
        if predicted is None or predicted not in paths or agrees(paths, true, predicted):
            continue
        if mapped and paths[true].startswith(paths[predicted] + " > "):
            continue  # an old leaf mapped to an inner node: a finer label does not contradict it
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
                .select_related("current_label__category", "prediction__top_category__version")
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
    # The decision's own row: the label itself, or for a label a publish carried over
    # (migrated_from), the original, whose author and source the page shows.
    origin: Label | None = None

    @property
    def migrated(self) -> bool:
        return self.origin is not None and self.origin.pk != self.label.pk


@dataclass(frozen=True)
class ItemLedger:
    item: Item
    prediction: Prediction | None
    lines: list[LedgerLine]


def item_ledger(*, item_id: int, viewer: Viewer = None) -> ItemLedger | None:
    """Every ledger line of an item ``viewer`` may see, oldest first: who, when, from where,
    what the model had predicted then; and the current prediction (with the previous model's
    top category). A migrated line's who and from where are its original decision's
    (``origin``). Overlap answers still blind to ``viewer`` are left out
    (``labels.labels_visible_to``; no viewer: every blind answer is)."""
    item = Item.objects.select_related("current_label").filter(pk=item_id).first()
    if item is None:
        return None
    rows = Label.objects.filter(item=item).select_related(
        "category", "author", "model_version", "retracts"
    )
    labels = list(labels_visible_to(rows, viewer=viewer).order_by("created_at", "id"))
    retracted = {lab.retracts_id for lab in labels if lab.retracts_id}
    tops = Category.objects.in_bulk({t for t in map(_top_of, labels) if t is not None})
    origins = label_origins_in(labels)  # a migration chain stays within its item
    lines = [
        LedgerLine(
            lab,
            tops.get(_top_of(lab) or 0),
            lab.pk in retracted,
            lab.pk == item.current_label_id,
            origins[lab.pk],
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
