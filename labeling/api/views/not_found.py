"""A JSON 404 for any /api/…/ path that names no endpoint.

Without it Django answers such paths with its HTML "Not Found" page, which API clients cannot
parse and which the schema does not document; ids that are not positive whole numbers
(``/api/items/-1/``) and ids past the 64-bit range end here too, because ``<id:pk>`` does not
match them. The role check still comes first, so the fallback tells outsiders nothing about
which paths exist.
"""

from __future__ import annotations

from typing import Any, NoReturn

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from labeling.api.permissions import IsReviewer

from .base import ApiView

API_NO_SUCH_ENDPOINT = "There is no API endpoint at {path}."


@extend_schema(exclude=True)
class ApiNotFound(ApiView):
    permission_classes = [IsReviewer]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotFound(API_NO_SUCH_ENDPOINT.format(path=request.path))

    post = put = patch = delete = get
