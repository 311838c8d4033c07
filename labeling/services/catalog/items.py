"""Catalog items: create and update one, or create many at once (all or nothing).

Fields are checked by ``item_fields`` and images by ``item_images`` before anything is
written. Every image is stored before its item row is written, so a full media disk
(``MediaDiskFull``, from ``labeling.services.catalog.media_files``) stops a create or an update
before the database is touched, and the failed write leaves no partial file. A whole file
stored for an item whose row then fails is left in place on purpose: deleting it could race
with another request that has just reused the same content-addressed file. A new item, or one
whose encoder input changed, is sent to embedding once its row is committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from labeling.models import Item
from labeling.services import dispatch
from labeling.services.catalog.item_fields import (
    ItemError,
    ItemFields,
    item_fields_clean,
    item_from_fields,
)
from labeling.services.catalog.item_images import (
    image_read,
    image_save_validated,
    image_store,
    image_validate,
)

ITEM_ALREADY_EXISTS = "An item with external id {external_id!r} already exists."
ITEM_UNKNOWN_FIELDS = "Unknown item field(s): {fields}; expected some of {allowed}."
ITEM_BULK_EMPTY = "No rows to create."
ITEM_BULK_TOO_MANY = "Too many rows: {count:,} (at most {limit:,} per request)."
ITEM_BULK_ROW = "Row {index}: {message}"
ITEM_BULK_DUPLICATE_IN_BATCH = "The external id {external_id!r} also appears in row {first}."
ITEM_BULK_ROW_NOT_OBJECT = "Each row must be an object with external_id and title."

UPDATABLE_FIELDS = ("external_id", "title", "description", "attributes", "image", "source")


def item_create(
    *,
    external_id: str,
    title: str,
    description: str = "",
    attributes: dict | None = None,
    image: bytes | UploadedFile | None = None,
    source: str = "api",
) -> Item:
    """Create one item; the image (bytes or an upload) is validated and stored first."""
    fields = item_fields_clean(
        external_id=external_id,
        title=title,
        description=description,
        attributes=attributes,
        source=source,
    )
    if image is not None:
        data, hint = image_read(image)
        fields = _replace(fields, image_name=image_store(data=data, filename_hint=hint))
    item = item_from_fields(fields)
    try:
        with transaction.atomic():
            if Item.objects.filter(external_id=fields.external_id).exists():
                raise ItemError(
                    ITEM_ALREADY_EXISTS.format(external_id=fields.external_id), field="external_id"
                )
            item.save()
            dispatch.enqueue_on_commit("embed_items_task", [item.pk])
    except IntegrityError as error:  # a concurrent create with the same id won the race
        raise ItemError(
            ITEM_ALREADY_EXISTS.format(external_id=fields.external_id), field="external_id"
        ) from error
    return item


def _replace(fields: ItemFields, **changes: Any) -> ItemFields:
    return ItemFields(**{**fields.__dict__, **changes})


def item_update(*, item: Item, **changes: Any) -> Item:
    """Change some of external_id, title, description, attributes, image, source.

    ``image=None`` removes the image. The content hash is recomputed; nothing is written when
    no field actually changes.
    """
    unknown = sorted(set(changes) - set(UPDATABLE_FIELDS))
    if unknown:
        raise ItemError(
            ITEM_UNKNOWN_FIELDS.format(
                fields=", ".join(unknown), allowed=", ".join(UPDATABLE_FIELDS)
            ),
            field=unknown[0],
        )
    image_name = item.image.name or ""
    if "image" in changes:
        image = changes.pop("image")
        image_name = "" if image is None else _store_upload(image)
    current = {f: getattr(item, f) for f in UPDATABLE_FIELDS if f != "image"}
    fields = item_fields_clean(**{**current, **changes}, image_name=image_name)
    return _item_apply(item=item, fields=fields)


def _store_upload(image: bytes | UploadedFile) -> str:
    data, hint = image_read(image)
    return image_store(data=data, filename_hint=hint)


def _item_apply(*, item: Item, fields: ItemFields) -> Item:
    changed = [
        name
        for name, value in (
            ("external_id", fields.external_id),
            ("title", fields.title),
            ("description", fields.description),
            ("attributes", fields.attributes),
            ("source", fields.source),
        )
        if getattr(item, name) != value
    ]
    if (item.image.name or "") != fields.image_name:
        changed.append("image")
    if not changed:
        return item
    for name in changed:
        setattr(item, name, fields.image_name if name == "image" else getattr(fields, name))
    item.content_hash = fields.content_hash
    try:
        with transaction.atomic():
            item.save(update_fields=[*changed, "content_hash", "updated_at"])
            if set(changed) - {"external_id", "source"}:  # the encoders' input changed
                dispatch.enqueue_on_commit("embed_items_task", [item.pk])
    except IntegrityError as error:
        raise ItemError(
            ITEM_ALREADY_EXISTS.format(external_id=fields.external_id), field="external_id"
        ) from error
    return item


def items_bulk_create(*, rows: Sequence[Mapping[str, Any]], source: str = "api") -> list[Item]:
    """Create up to ``BULK_CREATE_LIMIT`` items at once, all or nothing.

    Every row is validated (images included) before anything is written; the first bad row
    raises an ItemError whose message starts with "Row <index>:" and whose ``index`` and
    ``field`` name it.
    """
    limit = settings.TAXOLOOP["BULK_CREATE_LIMIT"]
    if not rows:
        raise ItemError(ITEM_BULK_EMPTY, field="rows")
    if len(rows) > limit:
        raise ItemError(ITEM_BULK_TOO_MANY.format(count=len(rows), limit=limit), field="rows")
    cleaned = [_bulk_row_clean(index, row, source) for index, row in enumerate(rows)]
    _bulk_check_duplicates([fields for fields, _ in cleaned])
    items = [
        item_from_fields(_replace(fields, image_name=_bulk_store(index, upload)))
        for index, (fields, upload) in enumerate(cleaned)
    ]
    try:
        with transaction.atomic():
            created = Item.objects.bulk_create(items)
            dispatch.enqueue_on_commit("embed_items_task", [item.pk for item in created])
            return created
    except IntegrityError as error:  # a concurrent request created one of the ids meanwhile
        _bulk_check_duplicates([fields for fields, _ in cleaned])
        raise ItemError(str(error), field="external_id") from error


def _bulk_row_clean(
    index: int, row: Mapping[str, Any], source: str
) -> tuple[ItemFields, tuple[bytes, str, str] | None]:
    if not isinstance(row, Mapping):
        raise ItemError(
            ITEM_BULK_ROW.format(index=index, message=ITEM_BULK_ROW_NOT_OBJECT), index=index
        )
    try:
        unknown = sorted(set(row) - {"external_id", "title", "description", "attributes", "image"})
        if unknown:
            raise ItemError(
                ITEM_UNKNOWN_FIELDS.format(
                    fields=", ".join(unknown),
                    allowed="external_id, title, description, attributes, image",
                ),
                field=unknown[0],
            )
        fields = item_fields_clean(
            external_id=row.get("external_id"),
            title=row.get("title"),
            description=row.get("description", ""),
            attributes=row.get("attributes"),
            source=source,
        )
        upload = None
        if row.get("image") is not None:
            data, hint = image_read(row["image"])
            upload = (data, hint, image_validate(data=data, filename_hint=hint))
    except ItemError as error:
        raise ItemError(
            ITEM_BULK_ROW.format(index=index, message=error), field=error.field, index=index
        ) from error
    return fields, upload


def _bulk_check_duplicates(all_fields: list[ItemFields]) -> None:
    first_seen: dict[str, int] = {}
    for index, fields in enumerate(all_fields):
        if fields.external_id in first_seen:
            message = ITEM_BULK_DUPLICATE_IN_BATCH.format(
                external_id=fields.external_id, first=first_seen[fields.external_id]
            )
            raise ItemError(
                ITEM_BULK_ROW.format(index=index, message=message), field="external_id", index=index
            )
        first_seen[fields.external_id] = index
    existing = set(
        Item.objects.filter(external_id__in=list(first_seen)).values_list("external_id", flat=True)
    )
    for external_id, index in first_seen.items():
        if external_id in existing:
            message = ITEM_ALREADY_EXISTS.format(external_id=external_id)
            raise ItemError(
                ITEM_BULK_ROW.format(index=index, message=message), field="external_id", index=index
            )


def _bulk_store(index: int, upload: tuple[bytes, str, str] | None) -> str:
    if upload is None:
        return ""
    data, _, image_format = upload
    return image_save_validated(data=data, image_format=image_format)
