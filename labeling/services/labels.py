"""The label ledger: append decisions and retractions; keep ``Item.current_label`` in step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from labeling.models import Category, Item, Label, ModelVersion, TaxonomyVersion
from labeling.services.errors import ServiceError

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


def current_version() -> TaxonomyVersion:
    """The one current published taxonomy version (raises LabelError when there is none)."""
    version = TaxonomyVersion.objects.filter(is_current=True).order_by("-id").first()
    if version is None:
        raise LabelError(NO_CURRENT_VERSION)
    return version


def _check_category(category: Category, version: TaxonomyVersion | None) -> TaxonomyVersion:
    target = version or current_version()
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
) -> Label:
    """Append a decision for ``item`` and make it the item's current label.

    ``version`` defaults to the current taxonomy version; the category must belong to it.
    With an ``idempotency_key`` a repeated call (double click, retry) returns the label the
    first call wrote instead of writing a second one.
    """
    if source not in Label.Source.values:
        raise LabelError(UNKNOWN_SOURCE.format(source=source, choices=", ".join(Label.Source.values)))
    if idempotency_key:
        existing = Label.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    target = _check_category(category, version)
    try:
        with transaction.atomic():
            item = Item.objects.select_for_update().get(pk=item.pk)
            label = Label.objects.create(
                item=item,
                category=category,
                taxonomy_version=target,
                author=author,
                source=source,
                model_version=model_version,
                prediction_shown=dict(prediction_shown or {}),
                supersedes_id=item.current_label_id,
                is_audit=is_audit,
                context=context,
                note=note,
                idempotency_key=idempotency_key or None,
            )
            Item.objects.filter(pk=item.pk).update(current_label=label)
    except IntegrityError:
        if idempotency_key:  # a concurrent request with the same key won the race
            return Label.objects.get(idempotency_key=idempotency_key)
        raise
    return label


@transaction.atomic
def label_retract(
    *, label: Label, author: AbstractBaseUser | None, note: str = "", idempotency_key: str | None = None
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
    return retraction


def newest_standing_label(*, item: Item) -> Label | None:
    """The item's newest label that no retraction has taken back."""
    return (
        Label.objects.filter(item=item, kind=Label.Kind.LABEL, retractions__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
