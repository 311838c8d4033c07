"""OpenAPI generation tweaks for drf-spectacular."""

from __future__ import annotations

import inspect

from drf_spectacular.openapi import AutoSchema


class ApiAutoSchema(AutoSchema):
    """Names components after the view nesting the serializer, and describes an operation
    with its own view's docstring.

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
        view_class = getattr(self.view, "operation_classes", {}).get(method, type(self.view))
        doc = inspect.getdoc(getattr(view_class, method, None)) if method in vars(view_class) else None
        own = vars(view_class).get("__doc__")
        return inspect.cleandoc(doc or own or "")
