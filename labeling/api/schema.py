"""OpenAPI generation tweaks for drf-spectacular."""

from __future__ import annotations

import inspect
import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.settings import api_settings

from labeling.urls_converters import ID_MAX, ID_MIN


@extend_schema_serializer(component_name="ErrorDetail")
class ErrorDetailSerializer(serializers.Serializer):
    """DRF's answer to a refused request that is not about one field."""

    detail = serializers.CharField()


# DRF's 400: each offending field (or query parameter) mapped to its messages, with
# ``non_field_errors`` for errors about the request as a whole.
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"title": ["This field is required."]},
}

ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(FIELD_ERRORS_SCHEMA, description="Invalid input; errors by field."),
    401: OpenApiResponse(ErrorDetailSerializer, description="No or invalid credentials."),
    403: OpenApiResponse(
        ErrorDetailSerializer, description="Missing role, or a session request without CSRF token."
    ),
    404: OpenApiResponse(ErrorDetailSerializer, description="No such object."),
    429: OpenApiResponse(ErrorDetailSerializer, description="Throttled; retry after the wait."),
}

# ``<id:pk>`` in a route (labeling.urls_converters); drf-spectacular would call it a string.
ID_PATH_PARAMETER = re.compile(r"<id:(\w+)>")
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": ID_MIN, "maximum": ID_MAX}


class ApiAutoSchema(AutoSchema):
    """Names components after the view nesting the serializer, describes an operation with its
    own view's docstring, and lists the error answers every operation can give.

    Every view nests classes called InputSerializer/OutputSerializer (CONVENTIONS.md), which
    would all collide as one "Output" component; ``ItemListApi.OutputSerializer`` becomes
    ``ItemListOutput`` instead.
    """

    def get_serializer_name(self, serializer, direction: str) -> str:  # type: ignore[no-untyped-def]
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        outer, inner = qualname.split(".")[-2:]
        return outer.removesuffix("Api") + inner.removesuffix("Serializer")

    def get_description(self) -> str:
        # Only the operation's own class docstring: drf-spectacular would otherwise inherit
        # the base classes' (ListApiView, MethodRouterApi) docstrings, which describe code.
        method = self.method.lower()
        view_class = self._operation_class()
        doc = (
            inspect.getdoc(getattr(view_class, method, None))
            if method in vars(view_class)
            else None
        )
        own = vars(view_class).get("__doc__")
        return inspect.cleandoc(doc or own or "")

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        # Private hook, on purpose: @extend_schema replaces get_response_serializers() in a
        # subclass, so the errors are added one step later. A declared code wins.
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ERROR_RESPONSES[code], str(code), direction=direction
                )
        return responses

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters = super()._resolve_path_parameters(variables)
        ids = {_schema_name(name) for name in ID_PATH_PARAMETER.findall(self.path_regex)}
        for parameter in parameters:
            if parameter["name"] in ids:
                parameter["schema"] = dict(ID_SCHEMA)
        return parameters

    def _operation_class(self) -> type:
        method = self.method.lower()
        return getattr(self.view, "operation_classes", {}).get(method, type(self.view))

    def _error_codes(self) -> list[int]:
        view_class = self._operation_class()
        # A list's limit and offset are parameters too (labeling.api.pagination).
        takes_input = self.method != "GET" or any(
            hasattr(view_class, name) for name in ("FilterSerializer", "pagination_class")
        )
        codes = [400] if takes_input else []
        if self.get_auth():  # operations open to anyone (the token endpoint) declare auth=[]
            codes += [401, 403]
        if "{" in self.path:
            codes.append(404)
        return [*codes, 429]


def _schema_name(name: str) -> str:
    """The name drf-spectacular gives a path parameter (``pk`` becomes ``id``)."""
    return "id" if name == "pk" and api_settings.SCHEMA_COERCE_PATH_PK else name
