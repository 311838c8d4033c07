"""What a valid catalog item is: its fields checked and normalised, and its content hash.

``item_fields_clean`` turns raw input (an API body, a bulk row, an imported line) into
``ItemFields``, or raises ``ItemError`` naming the field; it reads no database. The content
hash is a sha256 over what the model sees, the image included through the sha256 its
content-addressed storage name carries (``item_images``), so it can be recomputed without
reading the image again. ``ItemError`` is the one error of the catalog's item services.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from labeling.models import Item
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

EXTERNAL_ID_MAX = Item._meta.get_field("external_id").max_length or 255
TITLE_MAX = Item._meta.get_field("title").max_length or 1000
SOURCE_MAX = Item._meta.get_field("source").max_length or 100
# A content-addressed storage name: items/<sha256[:2]>/<sha256>.<ext> (item_images).
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


def item_from_fields(fields: ItemFields) -> Item:
    """An unsaved ``Item`` holding ``fields`` (checked ones: ``item_fields_clean``)."""
    return Item(
        external_id=fields.external_id,
        title=fields.title,
        description=fields.description,
        attributes=fields.attributes,
        image=fields.image_name,
        source=fields.source,
        content_hash=fields.content_hash,
    )
