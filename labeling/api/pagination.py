"""Limit/offset pagination with an upper bound on ``limit``."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class ApiPagination(LimitOffsetPagination):
    """``?limit`` defaults to PAGE_SIZE (50) and is capped at 1,000 rows per page."""

    max_limit = 1000


class CategoryPagination(LimitOffsetPagination):
    """Categories are small rows a client often wants all at once (the Google taxonomy has
    5,595), so one page may hold up to 10,000."""

    max_limit = 10_000
