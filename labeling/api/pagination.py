"""Limit/offset pagination with an upper bound on ``limit`` and checked parameters.

DRF's LimitOffsetPagination quietly replaces a limit or offset it cannot read (``-1``,
``many``) with the default, and passes any offset, however large, on to the query. Here a
limit or offset that is not a whole number in range is a 400 naming it, like every other
parameter; a limit past ``max_limit`` is still cut down to it (documented on each list).
The catalog, a list of every item, is paged by keyset instead (``AfterIdPagination``).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param

from labeling.urls_converters import DB_INT_MAX


class CheckedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit`` from 1, ``?offset`` from 0, both at most 2**63 - 1; a blank value means the
    parameter was not given (as in DRF)."""

    def get_limit(self, request: Request) -> int | None:
        limit = _query_int(request, self.limit_query_param, min_value=1)
        if limit is None:
            return self.default_limit
        return min(limit, self.max_limit) if self.max_limit else limit

    def get_offset(self, request: Request) -> int:
        return _query_int(request, self.offset_query_param, min_value=0) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        minimum = {self.limit_query_param: 1, self.offset_query_param: 0}
        for parameter in parameters:
            if parameter["name"] in minimum:
                parameter["schema"] |= {
                    "minimum": minimum[parameter["name"]],
                    "maximum": DB_INT_MAX,
                }
        return parameters


def _query_int(request: Request, name: str, *, min_value: int) -> int | None:
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    field = serializers.IntegerField(min_value=min_value, max_value=DB_INT_MAX)
    try:
        return field.run_validation(raw)
    except ValidationError as error:
        raise ValidationError({name: error.detail}) from error


class ApiPagination(CheckedLimitOffsetPagination):
    """``?limit`` defaults to PAGE_SIZE (50) and is capped at 1,000 rows per page."""

    max_limit = 1000


class CategoryPagination(CheckedLimitOffsetPagination):
    """Categories are small rows a client often wants all at once (the Google taxonomy has
    5,595), so one page may hold up to 10,000."""

    max_limit = 10_000


# -- keyset pages by id (issue 17: GET /api/catalog/) ------------------------------------------


class AfterIdPagination(BasePagination):
    """Keyset pages in id order: ``?after=<id>``, the last id of the page before (0 or absent:
    from the start), and ``?limit`` (1 to 1,000, default PAGE_SIZE; checked like the other
    lists'). Page 20,000 of a million items costs what page 1 costs, where an offset would read
    every row before it; and ``after`` is a plain id, so a client can resume where it stopped.

    The view bounds its own query with ``get_after`` (so the database starts the scan of every
    joined table there: PostgreSQL does not carry ``item.id > n`` over to a merge join's other
    side); ``paginate_queryset`` then only cuts the page and finds out whether there is a next
    one. ``next`` links to it; null on the last page."""

    after_query_param = "after"
    limit_query_param = "limit"
    default_limit = api_settings.PAGE_SIZE
    max_limit = 1000

    def get_after(self, request: Request) -> int:
        return _query_int(request, self.after_query_param, min_value=0) or 0

    def get_limit(self, request: Request) -> int:
        limit = _query_int(request, self.limit_query_param, min_value=1)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        limit = self.get_limit(request)
        rows = list(queryset[: limit + 1])
        self.next_after = _id_of(rows[limit - 1]) if len(rows) > limit else None
        return rows[:limit]

    def get_next_link(self) -> str | None:
        if self.next_after is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.after_query_param, self.next_after)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "example": "https://taxoloop.example.org/api/catalog/?after=4096",
                    "description": "the next page; null on the last one",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        bounds = {"type": "integer", "maximum": DB_INT_MAX}
        return [
            {
                "name": self.after_query_param,
                "required": False,
                "in": "query",
                "description": "the last id of the page before (the next link gives it)",
                "schema": {**bounds, "minimum": 0},
            },
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": "rows per page (default 50, at most 1,000)",
                "schema": {**bounds, "minimum": 1},
            },
        ]


def _id_of(row: Any) -> int:
    return int(row["id"] if isinstance(row, dict) else row.pk)
