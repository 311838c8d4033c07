"""Serializer fields the API needs beyond DRF's."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.api.parsers import json_depth_exceeds
from labeling.urls_converters import DB_INT_MAX, DB_INT_MIN, ID_MAX, ID_MIN

ATTRIBUTES_NOT_OBJECT = "Must be a JSON object of names to values."


@extend_schema_field({"type": "object", "additionalProperties": True})
class AttributesField(serializers.JSONField):
    """A JSON object; a multipart form sends it as JSON text, which is parsed here."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError):  # RecursionError: nested ~1,000 levels deep
                self.fail("invalid")
        if json_depth_exceeds(data):  # DRF's and Django's JSON encoding would recurse too deep
            self.fail("invalid")
        if not isinstance(data, dict):
            raise serializers.ValidationError(ATTRIBUTES_NOT_OBJECT)
        return super().to_internal_value(data)


def optional_bool(help_text: str) -> serializers.BooleanField:
    # default=None: without it DRF reads an absent query parameter as False.
    return serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=help_text
    )


class DbIntegerField(serializers.IntegerField):
    """An integer the database can store and compare: -2**63 to 2**63 - 1 unless narrowed.

    A bare IntegerField accepts any size; 10**30 then reaches the query, where SQLite cannot
    bind it (``OverflowError``: a 500) and PostgreSQL compares it as a numeric. Bounded here, an
    out-of-range value is a 400 naming the parameter, and the schema documents the range.
    Every integer the API reads (filters, body fields) is one of these.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["min_value"] = max(kwargs.get("min_value", DB_INT_MIN), DB_INT_MIN)
        kwargs["max_value"] = min(kwargs.get("max_value", DB_INT_MAX), DB_INT_MAX)
        super().__init__(**kwargs)


class IdField(DbIntegerField):
    """A database id: 1 to 2**63 - 1 (a BigAutoField)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=ID_MIN, max_value=ID_MAX, **kwargs)


class StringListField(serializers.ListField):
    """A list of strings whose refusal is a flat list of messages, ``"item 4: …"``, as the
    documented 400 (field -> list of strings) says; DRF nests a child's errors by index."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField())
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError(
                [f"item {k}: {m}" for k, messages in exc.detail.items() for m in messages]
            ) from exc
