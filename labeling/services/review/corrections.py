"""Corrections made from the report views: one cell, a bulk selection, and undo.

A correction is a normal ledger line (``labels``) with source ``inline`` (one cell) or
``bulk`` (a selection) and ``context`` = the report's name, so it counts toward the next
training like any other label. It records the model version and the prediction the report
showed (``shown.shown_in_report``: an older model's candidates mapped into the current
version, as on screen). Only a label's author may undo it here.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Subquery

from labeling.models import Category, Item, Label, TaxonomyVersion
from labeling.services.errors import ServiceError
from labeling.services.review.labels import label_bulk_create, label_create, label_retract
from labeling.services.review.shown import shown_in_report

CATEGORY_MISSING = "Choose a category first: type a few letters and pick one from the list."
CATEGORY_UNKNOWN = "There is no category #{pk}; pick one from the list."
ITEM_UNKNOWN = "There is no item #{pk}."
NO_ROWS_SELECTED = "Select at least one row for the bulk assignment."
NOT_YOURS = "Label #{pk} was written by someone else; only its author can undo it here."
NOTHING_TO_UNDO = "Nothing to undo: no label was named."
UNDO_NOTE = "undone in a report"


class CorrectionError(ServiceError):
    """A correction a report cannot make; the message says what to do instead."""


def _category(raw: object) -> Category:
    """The category a form named (a string as posted), or a CorrectionError."""
    if raw in (None, ""):
        raise CorrectionError(CATEGORY_MISSING)
    try:
        pk: int | None = int(str(raw))
    except ValueError:
        pk = None
    category = Category.objects.filter(pk=pk).first() if pk is not None else None
    if category is None:
        raise CorrectionError(CATEGORY_UNKNOWN.format(pk=raw))
    return category


def _items(item_ids: Sequence[int]) -> list[Item]:
    """The items, in the order of ``item_ids``, each with its prediction and model version."""
    found = Item.objects.select_related("prediction__model_version").in_bulk(item_ids)
    for pk in item_ids:
        if pk not in found:
            raise CorrectionError(ITEM_UNKNOWN.format(pk=pk))
    return [found[pk] for pk in item_ids]


# Not wrapped in a transaction of its own: its one write is ``label_create``'s, which is one;
# an outer atomic would add a savepoint and its release to a hot path whose queries are
# pinned (tests/labeling/test_correction_queries.py).
def correction_save(
    *,
    author: AbstractBaseUser,
    item_id: int,
    category_id: object,
    report: str,
    version: TaxonomyVersion | None,
) -> Label:
    """One ``inline`` ledger line for one item from ``report``; the new label.

    ``category_id`` as the form posted it. ``version``: the current taxonomy version, read
    once per request by the caller (None: there is none, and ``label_create`` says so).
    """
    (item,) = _items([item_id])
    prediction = getattr(item, "prediction", None)
    return label_create(
        item=item,
        category=_category(category_id),
        author=author,
        source=Label.Source.INLINE,
        version=version,
        model_version=prediction.model_version if prediction is not None else None,
        prediction_shown=shown_in_report(prediction, version).prediction_shown,
        context=report,
    )


@transaction.atomic
def correction_bulk_save(
    *,
    author: AbstractBaseUser,
    item_ids: Sequence[int],
    category_id: object,
    report: str,
    version: TaxonomyVersion | None,
) -> list[Label]:
    """One ``bulk`` ledger line per item, all in one bulk insert, all or none; the new labels
    in item id order.

    Each records the prediction the report showed for its item, as an inline correction does.
    """
    ids = sorted(set(item_ids))
    if not ids:
        raise CorrectionError(NO_ROWS_SELECTED)
    category = _category(category_id)
    items = _items(ids)
    label_bulk_create(
        pairs=[(item, category) for item in items],
        author=author,
        source=Label.Source.BULK,
        version=version,
        context=report,
        shown={i.pk: shown_in_report(getattr(i, "prediction", None), version) for i in items},
    )
    # The items stay locked until commit, so each one's current label is the one just written.
    written = Item.objects.filter(pk__in=ids).values("current_label_id")
    return list(
        Label.objects.filter(pk__in=Subquery(written))
        .select_related("category")
        .order_by("item_id")
    )


@transaction.atomic
def correction_undo(*, author: AbstractBaseUser, label_ids: Sequence[int]) -> int:
    """Retract the labels ``label_ids``, all or none; the number retracted.

    Only the author of every one of them may: a label of someone else refuses the whole undo.
    """
    if not label_ids:
        raise CorrectionError(NOTHING_TO_UNDO)
    labels = list(Label.objects.filter(pk__in=label_ids, kind=Label.Kind.LABEL).order_by("pk"))
    for label in labels:
        if label.author_id != author.pk:
            raise CorrectionError(NOT_YOURS.format(pk=label.pk))
    for label in labels:
        label_retract(label=label, author=author, note=UNDO_NOTE)
    return len(labels)
