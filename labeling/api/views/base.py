"""What every API view shares: the schema class and small helpers for filters and pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.pagination import ApiPagination
from labeling.api.schema import ApiAutoSchema


class ApiView(APIView):
    schema = ApiAutoSchema()


class ListApiView(ApiView):
    """A GET view that filters with a nested FilterSerializer and returns one page."""

    pagination_class: type = ApiPagination

    def filters(self, request: Request, serializer_class: type[serializers.Serializer]) -> dict:
        """The validated query parameters, without those that were not given."""
        serializer = serializer_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return {k: v for k, v in serializer.validated_data.items() if v is not None}

    def paginate(self, queryset: QuerySet) -> list[Any]:
        self._paginator = self.pagination_class()
        return self._paginator.paginate_queryset(queryset, self.request, view=self) or []

    def page_response(
        self, rows: Iterable[Any], serializer_class: type[serializers.Serializer]
    ) -> Response:
        data = serializer_class(rows, many=True, context={"request": self.request}).data
        return self._paginator.get_paginated_response(data)


class MethodRouterApi(ApiView):
    """One URL served by one view class per HTTP method (``GET /api/items/`` is ItemListApi,
    ``POST /api/items/`` ItemCreateApi), so each operation keeps its own permissions,
    serializers and schema. Build one with :func:`route_by_method`."""

    operations: dict[str, Any] = {}
    operation_classes: dict[str, type[APIView]] = {}

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        operation = self.operations.get(request.method.lower())
        if operation is None:  # DRF answers 405 with the Allow header of the methods below
            return super().dispatch(request, *args, **kwargs)
        return operation(request, *args, **kwargs)


def route_by_method(name: str, **views: type[APIView]) -> type[MethodRouterApi]:
    """A view class for one URL whose ``get``/``post``/... run the given views. The handler
    functions are copied too: drf-spectacular reads each operation's schema from them."""
    attrs: dict[str, Any] = {
        "operations": {method: view.as_view() for method, view in views.items()},
        "operation_classes": views,
        "__module__": __name__,
    }
    for method, view in views.items():
        attrs[method] = getattr(view, method)
        if method == "get" and hasattr(view, "pagination_class"):
            attrs["pagination_class"] = view.pagination_class
        if method in ("post", "patch", "put"):
            attrs["parser_classes"] = view.parser_classes
    return type(name, (MethodRouterApi,), attrs)
