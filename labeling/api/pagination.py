"""Limit/offset pagination with an upper bound on ``limit`` and checked parameters.

DRF's LimitOffsetPagination quietly replaces a limit or offset it cannot read (``-1``,
``many``) with the default, and passes any offset, however large, on to the query. Here a
limit or offset that is not a whole number in range is a 400 naming it, like every other
parameter; a limit past ``max_limit`` is still cut down to it (documented on each list).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

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
