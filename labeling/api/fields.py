"""Serializer fields the API needs beyond DRF's."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.api.parsers import json_depth_exceeds

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
