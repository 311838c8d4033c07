"""The label ledger: append decisions and retractions; keep ``Item.current_label`` in step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Model, OuterRef, Subquery

from labeling.models import Category, Item, Label, ModelVersion, TaxonomyVersion
from labeling.selectors.taxonomy import current_version as current_taxonomy_version
from labeling.services.errors import ServiceError
from labeling.services.learning import triggers
from labeling.services.review.disagreement import disagreement_refresh
from labeling.services.review.shown import ShownPrediction

CATEGORY_NOT_IN_CURRENT_VERSION = (
    "The category {path!r} belongs to taxonomy version {version}, not to the current version "
    "{current}. Pick a category of the current taxonomy."
)
CATEGORY_DEPRECATED = "The category {path!r} is deprecated; pick its replacement."
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
ALREADY_RETRACTED = "Label #{pk} has already been retracted."
CANNOT_RETRACT_RETRACTION = "Label #{pk} is a retraction; label the item again instead."
UNKNOWN_SOURCE = "Unknown label source {source!r}; expected one of {choices}."


class LabelError(ServiceError):
    pass


def require_current_version() -> TaxonomyVersion:
    """The one current published taxonomy version (raises LabelError when there is none)."""
    version = current_taxonomy_version()
    if version is None:
        raise LabelError(NO_CURRENT_VERSION)
    return version


def _check_category(category: Category, version: TaxonomyVersion | None) -> TaxonomyVersion:
    target = version or require_current_version()
    if category.version_id != target.pk:
        raise LabelError(
            CATEGORY_NOT_IN_CURRENT_VERSION.format(
                path=category.path, version=category.version_id, current=target.pk
            )
        )
    if category.deprecated:
        raise LabelError(CATEGORY_DEPRECATED.format(path=category.path))
    return target


def label_create(
    *,
    item: Item,
    category: Category,
    author: AbstractBaseUser | None,
    source: str,
    version: TaxonomyVersion | None = None,
    model_version: ModelVersion | None = None,
    prediction_shown: Mapping[str, Any] | None = None,
    is_audit: bool = False,
    context: str = "",
    note: str = "",
    idempotency_key: str | None = None,
    current: bool = True,
    locked: bool = False,
) -> Label:
    """Append a decision for ``item`` and make it the item's current label.

    ``current=False``: an overlap answer (``context="overlap"``), a ledger row that is never
    the item's current label itself (``labeling.services.review.overlap``).
    ``version`` defaults to the current taxonomy version; the category must belong to it.
    With an ``idempotency_key`` a repeated call (double click, retry) returns the label the
    first call wrote instead of writing a second one.
    ``locked=True``: the caller's transaction already holds ``item``'s row lock, read it
    with that lock and looked the key up after taking it (``review_decide``, the review
    page's hot path): a request with the same key waits on that lock and then finds the
    label, so the key is not looked up again and no savepoint is needed (three round trips
    fewer per decision).
    """
    if source not in Label.Source.values:
        raise LabelError(
            UNKNOWN_SOURCE.format(source=source, choices=", ".join(Label.Source.values))
        )
    if locked and not transaction.get_connection().in_atomic_block:
        raise LabelError("label_create(locked=True) needs the caller's transaction.")
    if idempotency_key and not locked:
        existing = Label.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    target = _check_category(category, version)
    try:
        with transaction.atomic(savepoint=not locked):
            if not locked:
                item = Item.objects.select_for_update().get(pk=item.pk)
            label = Label.objects.create(
                item=item,
                category=category,
                taxonomy_version=target,
                author=author,
                source=source,
                model_version=model_version,
                prediction_shown=dict(prediction_shown or {}),
                supersedes_id=item.current_label_id if current else None,
                is_audit=is_audit,
                context=context,
                note=note,
                idempotency_key=idempotency_key or None,
            )
            if current:
                Item.objects.filter(pk=item.pk).update(current_label=label)
                disagreement_refresh(item_ids=[item.pk])
                _notify_labels_added(target)
    except IntegrityError:
        if idempotency_key and not locked:  # a concurrent request with the same key won
            return Label.objects.get(idempotency_key=idempotency_key)
        raise
    return label


@transaction.atomic
def label_retract(
    *,
    label: Label,
    author: AbstractBaseUser | None,
    note: str = "",
    idempotency_key: str | None = None,
) -> Label:
    """Undo a decision by appending a retraction; the item's current label becomes its newest
    remaining one (or none)."""
    if idempotency_key:
        existing = Label.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    if label.is_retraction:
        raise LabelError(CANNOT_RETRACT_RETRACTION.format(pk=label.pk))
    item = Item.objects.select_for_update().get(pk=label.item_id)
    if Label.objects.filter(retracts=label).exists():
        raise LabelError(ALREADY_RETRACTED.format(pk=label.pk))
    retraction = Label.objects.create(
        item=item,
        kind=Label.Kind.RETRACTION,
        taxonomy_version_id=label.taxonomy_version_id,
        author=author,
        source=label.source,
        retracts=label,
        note=note,
        idempotency_key=idempotency_key or None,
    )
    Item.objects.filter(pk=item.pk).update(current_label=newest_standing_label(item=item))
    disagreement_refresh(item_ids=[item.pk])
    _notify_labels_added(label.taxonomy_version)
    return retraction


OVERLAP_ANSWER = "overlap"  # the context of an overlap answer: never an item's current label


def newest_standing_label(*, item: Item) -> Label | None:
    """The item's newest label that no retraction has taken back (overlap answers aside)."""
    return (
        Label.objects.filter(item=item, kind=Label.Kind.LABEL, retractions__isnull=True)
        .exclude(context=OVERLAP_ANSWER)
        .order_by("-created_at", "-id")
        .first()
    )


LABEL_BULK_DUPLICATE_ITEM = "Item {external_id!r} appears more than once in one bulk label write."


@transaction.atomic
def label_bulk_create(
    *,
    pairs: Sequence[tuple[Item, Category]],
    author: AbstractBaseUser | None,
    source: str,
    version: TaxonomyVersion | None = None,
    context: str = "",
    shown: Mapping[int, ShownPrediction] | None = None,
) -> int:
    """Append one label per (item, category) pair in bulk and make each the item's current
    label, superseding the previous one; the number of labels written.

    Used by imports and bulk corrections, where one ``label_create`` per row (a SELECT FOR
    UPDATE, an INSERT and an UPDATE each) is too slow. The items are locked first so a
    concurrent label cannot slip in between reading ``current_label`` and replacing it.
    ``shown``: item id → the prediction its author saw (none: nothing is recorded).
    """
    if source not in Label.Source.values:
        raise LabelError(
            UNKNOWN_SOURCE.format(source=source, choices=", ".join(Label.Source.values))
        )
    if not pairs:
        return 0
    target = version or require_current_version()
    for category in {c.pk: c for _, c in pairs}.values():
        _check_category(category, target)
    ids: set[int] = set()
    for item, _ in pairs:
        if item.pk in ids:
            raise LabelError(LABEL_BULK_DUPLICATE_ITEM.format(external_id=item.external_id))
        ids.add(item.pk)
    current = dict(
        Item.objects.select_for_update().filter(pk__in=ids).values_list("pk", "current_label_id")
    )
    seen = shown or {}
    labels = [
        Label(
            item_id=item.pk,
            category=category,
            taxonomy_version=target,
            author=author,
            source=source,
            supersedes_id=current.get(item.pk),
            model_version_id=seen[item.pk].model_version_id if item.pk in seen else None,
            prediction_shown=dict(seen[item.pk].prediction_shown) if item.pk in seen else {},
            context=context,
        )
        for item, category in pairs
    ]
    rows_insert(objects=labels)
    # The items are locked, so each one's newest label is the one just appended. One UPDATE
    # with a correlated subquery: bulk_update's CASE WHEN grows quadratically with the batch.
    newest = Label.objects.filter(item=OuterRef("pk")).order_by("-id").values("pk")[:1]
    Item.objects.filter(pk__in=ids).update(current_label=Subquery(newest))
    disagreement_refresh(item_ids=list(ids))
    _notify_labels_added(target)
    return len(labels)


def _notify_labels_added(version: TaxonomyVersion) -> None:
    """After commit, let the loop count the new ledger rows (it may request a training).

    ``robust``: a failure there (the broker down, say) is logged and never turns a saved label
    into an error.
    """
    transaction.on_commit(lambda: triggers.labels_added(version), robust=True)


def rows_insert(*, objects: Sequence[Model]) -> None:
    """Insert new rows of one model without reading their ids back.

    On PostgreSQL this is COPY, several times faster than INSERT for thousands of rows (all
    constraints and triggers still apply); elsewhere ``bulk_create``.
    """
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.using(connection.alias).bulk_create(objects, batch_size=500)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in objects:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
