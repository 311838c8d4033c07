"""Catalog items: create, update and bulk-create them, and store their images.

Images are validated with PIL (``classifier.images``) and stored content-addressed under
``items/<sha256[:2]>/<sha256>.<ext>``: the name comes from the bytes and the detected format,
never from the client, so re-importing the same picture reuses the same file. Because the name
carries the sha256, an item's content hash can be recomputed without reading the image again.

Every image is stored before its item row is written, so a full media disk
(``MediaDiskFull``, from ``labeling.services.catalog.media_files``) stops a create or an update before
the database is touched, and the failed write leaves no partial file. A whole file stored for
an item whose row then fails is left in place on purpose: deleting it could race with another
request that has just reused the same content-addressed file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from classifier.images import ImageError, validate_image_bytes
from labeling.models import Item
from labeling.services import dispatch
from labeling.services.catalog.media_files import media_save_once
from labeling.services.errors import ServiceError
from labeling.services.storable import unstorable

ITEM_EXTERNAL_ID_REQUIRED = "The external id is required."
ITEM_EXTERNAL_ID_TOO_LONG = "The external id is longer than {limit} characters."
ITEM_TITLE_REQUIRED = "The title is required."
ITEM_TITLE_TOO_LONG = "The title is longer than {limit} characters."
ITEM_TEXT_NOT_STRING = "The {field} must be text, not {kind}."
ITEM_ATTRIBUTES_NOT_OBJECT = "The attributes must be a JSON object of names to values."
ITEM_ATTRIBUTES_NOT_JSON = "The attributes cannot be stored as JSON: {error}."
ITEM_TEXT_UNSTORABLE = "The {field} contains {problem}, which cannot be stored."
ITEM_ATTRIBUTES_UNSTORABLE = "The attributes contain {problem}, which cannot be stored."
ITEM_SOURCE_TOO_LONG = "The source is longer than {limit} characters."
ITEM_ALREADY_EXISTS = "An item with external id {external_id!r} already exists."
ITEM_IMAGE_INVALID = "The image {name!r} was refused: {reason}."
ITEM_IMAGE_TOO_LARGE = "The image {name!r} is too large: {size:,} bytes (limit {limit:,})."
ITEM_IMAGE_WRONG_TYPE = "The image must be uploaded file bytes, not {kind}."
ITEM_UNKNOWN_FIELDS = "Unknown item field(s): {fields}; expected some of {allowed}."
ITEM_BULK_EMPTY = "No rows to create."
ITEM_BULK_TOO_MANY = "Too many rows: {count:,} (at most {limit:,} per request)."
ITEM_BULK_ROW = "Row {index}: {message}"
ITEM_BULK_DUPLICATE_IN_BATCH = "The external id {external_id!r} also appears in row {first}."
ITEM_BULK_ROW_NOT_OBJECT = "Each row must be an object with external_id and title."

EXTERNAL_ID_MAX = Item._meta.get_field("external_id").max_length or 255
TITLE_MAX = Item._meta.get_field("title").max_length or 1000
SOURCE_MAX = Item._meta.get_field("source").max_length or 100
UPDATABLE_FIELDS = ("external_id", "title", "description", "attributes", "image", "source")
IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}
_STORED_NAME = re.compile(r"(?:^|/)([0-9a-f]{64})\.[a-z]+$")


class ItemError(ServiceError):
    """An item was refused; ``field`` names the offending field, ``index`` the bulk row."""

    def __init__(self, message: str, *, field: str = "", index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.index = index


@dataclass(frozen=True)
class ItemFields:
    """Validated, normalised item fields (the image already stored or absent)."""

    external_id: str
    title: str
    description: str
    attributes: dict[str, Any]
    image_name: str
    source: str

    @property
    def content_hash(self) -> str:
        return item_content_hash(
            title=self.title,
            description=self.description,
            attributes=self.attributes,
            image_sha256=image_sha256_from_name(self.image_name),
        )


def item_content_hash(
    *, title: str, description: str, attributes: Mapping[str, Any], image_sha256: str = ""
) -> str:
    """sha256 over a canonical JSON of what the model sees: equal content, equal hash."""
    canonical = json.dumps(
        {
            "title": title,
            "description": description,
            "attributes": attributes,
            "image_sha256": image_sha256,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def image_sha256_from_name(name: str) -> str:
    """The sha256 carried by a content-addressed storage name ('' for none or a legacy name)."""
    match = _STORED_NAME.search(name or "")
    return match.group(1) if match else ""


def image_storage_name(*, sha256: str, image_format: str) -> str:
    return f"items/{sha256[:2]}/{sha256}.{IMAGE_EXTENSIONS[image_format]}"


def image_validate(*, data: bytes, filename_hint: str) -> str:
    """Check ``data`` is an allowed, complete, not oversized image; return its PIL format."""
    limit = settings.TAXOLOOP["MAX_IMAGE_BYTES"]
    if len(data) > limit:
        raise ItemError(
            ITEM_IMAGE_TOO_LARGE.format(name=filename_hint, size=len(data), limit=limit),
            field="image",
        )
    try:
        _, _, image_format = validate_image_bytes(
            data, max_bytes=limit, max_pixels=settings.TAXOLOOP["MAX_IMAGE_PIXELS"]
        )
    except ImageError as error:
        raise ItemError(
            ITEM_IMAGE_INVALID.format(name=filename_hint, reason=error.reason), field="image"
        ) from error
    if image_format not in IMAGE_EXTENSIONS:  # validate_image_bytes allows only these today
        raise ItemError(
            ITEM_IMAGE_INVALID.format(name=filename_hint, reason=f"format {image_format}"),
            field="image",
        )
    return image_format


def image_save_validated(*, data: bytes, image_format: str) -> str:
    """Store already-validated bytes under their content address; reuse an existing file."""
    return image_save_reporting_new(data=data, image_format=image_format)[0]


def image_save_reporting_new(*, data: bytes, image_format: str) -> tuple[str, bool]:
    """As ``image_save_validated``, and whether the file was written now (not reused).

    An importer needs to know so that it can remove a file it wrote for a row whose database
    write then failed, and never one that an existing item already points to. Raises
    MediaDiskFull when the disk is full (nothing of the file is left).
    """
    name = image_storage_name(sha256=hashlib.sha256(data).hexdigest(), image_format=image_format)
    return media_save_once(name=name, data=data)


def image_store(*, data: bytes, filename_hint: str) -> str:
    """Validate an image and save it under ``items/<sha[:2]>/<sha>.<ext>``; the storage name.

    ``filename_hint`` only appears in error messages: the stored name and extension come from
    the content and the detected format.
    """
    image_format = image_validate(data=data, filename_hint=filename_hint)
    return image_save_validated(data=data, image_format=image_format)


def _read_image(image: bytes | UploadedFile) -> tuple[bytes, str]:
    if isinstance(image, bytes | bytearray):
        return bytes(image), "image"
    if not isinstance(image, UploadedFile):
        raise ItemError(ITEM_IMAGE_WRONG_TYPE.format(kind=type(image).__name__), field="image")
    hint = image.name or "upload"
    limit = settings.TAXOLOOP["MAX_IMAGE_BYTES"]
    if image.size is not None and image.size > limit:  # refuse before reading it into memory
        raise ItemError(
            ITEM_IMAGE_TOO_LARGE.format(name=hint, size=image.size, limit=limit), field="image"
        )
    return b"".join(image.chunks()), hint


def _clean_text(value: Any, field: str, *, required: bool, limit: int | None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ItemError(
            ITEM_TEXT_NOT_STRING.format(field=field.replace("_", " "), kind=type(value).__name__),
            field=field,
        )
    problem = unstorable(value)
    if problem:
        message = ITEM_TEXT_UNSTORABLE.format(field=field.replace("_", " "), problem=problem)
        raise ItemError(message, field=field)
    value = value.strip()
    if required and not value:
        message = ITEM_EXTERNAL_ID_REQUIRED if field == "external_id" else ITEM_TITLE_REQUIRED
        raise ItemError(message, field=field)
    if limit is not None and len(value) > limit:
        message = {
            "external_id": ITEM_EXTERNAL_ID_TOO_LONG,
            "title": ITEM_TITLE_TOO_LONG,
            "source": ITEM_SOURCE_TOO_LONG,
        }[field]
        raise ItemError(message.format(limit=limit), field=field)
    return value


def _clean_attributes(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ItemError(ITEM_ATTRIBUTES_NOT_OBJECT, field="attributes")
    try:  # round-trip so what is hashed is exactly what the JSONField will store
        cleaned = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise ItemError(
            ITEM_ATTRIBUTES_NOT_JSON.format(error=reason), field="attributes"
        ) from error
    problem = next(filter(None, map(unstorable, _json_strings(cleaned))), "")
    if problem:
        raise ItemError(ITEM_ATTRIBUTES_UNSTORABLE.format(problem=problem), field="attributes")
    return cleaned


def _json_strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included (iteratively: no recursion limit)."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            yield current
        elif isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def item_fields_clean(
    *,
    external_id: Any,
    title: Any,
    description: Any = "",
    attributes: Any = None,
    image_name: str = "",
    source: Any = "api",
) -> ItemFields:
    """Validate and normalise the text fields of one item (no database access)."""
    return ItemFields(
        external_id=_clean_text(external_id, "external_id", required=True, limit=EXTERNAL_ID_MAX),
        title=_clean_text(title, "title", required=True, limit=TITLE_MAX),
        description=_clean_text(description, "description", required=False, limit=None),
        attributes=_clean_attributes(attributes),
        image_name=image_name,
        source=_clean_text(source, "source", required=False, limit=SOURCE_MAX),
    )


def _item_from_fields(fields: ItemFields) -> Item:
    return Item(
        external_id=fields.external_id,
        title=fields.title,
        description=fields.description,
        attributes=fields.attributes,
        image=fields.image_name,
        source=fields.source,
        content_hash=fields.content_hash,
    )


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
        data, hint = _read_image(image)
        fields = _replace(fields, image_name=image_store(data=data, filename_hint=hint))
    item = _item_from_fields(fields)
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
    data, hint = _read_image(image)
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
        _item_from_fields(_replace(fields, image_name=_bulk_store(index, upload)))
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
            data, hint = _read_image(row["image"])
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
