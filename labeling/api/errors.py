"""Turning service errors and unknown references into DRF's ``{"field": ["message"]}`` 400s."""

from __future__ import annotations

from typing import NoReturn

from rest_framework.exceptions import NotFound, ValidationError

NO_CATEGORY = "No category {value} in the current taxonomy version"
NO_CATEGORY_ANY_VERSION = "No category {value}"
NO_ITEM = "No item {value}"
NO_ITEM_ID = "Item {value} not found."
NO_LABEL_ID = "Label {value} not found."
NO_TAXONOMY_VERSION_ID = "Taxonomy version {value} not found."
NO_CURRENT_TAXONOMY_VERSION = "There is no current taxonomy version."
NO_MODEL_VERSION_ID = "Model version {value} not found."
NO_PREDICTION_FOR_ITEM = "Item {value} has no prediction yet."
ITEM_OR_EXTERNAL_ID = "Give the item's id or its external_id."
CATEGORY_OR_PATH = "Give the category's id or its category_path."
IDEMPOTENCY_KEY_REUSED = (
    "This idempotency key was already used for a different request (label #{pk})."
)
BULK_TOO_MANY = (
    "At most {max_length:,} items per request, this one has {count:,}: split them over several "
    "requests."
)


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def raise_not_found(template: str, value: object) -> NoReturn:
    raise NotFound(template.format(value=value))
