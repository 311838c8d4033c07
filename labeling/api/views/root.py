"""GET /api/: an index of the API with a link to each endpoint and to the documentation.

A JSON index rather than a redirect to /api/docs/: a script (or a person with curl) that
starts at /api/ finds every endpoint and the schema in one answer it can parse, and a browser
shows the same JSON with the docs link at the top. Like the rest of the API it needs the
Reviewer or TaxonomyAdmin role; the docs and the schema stay public.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.urls import URLPattern, URLResolver
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.permissions import IsReviewer

from .base import ApiView

# Routes that are not endpoints of their own: this index and the JSON 404 catch-all.
NOT_LISTED = {"api-root", "api-not-found"}
DOCS = {"docs": "docs/", "redoc": "redoc/", "schema": "schema/"}


class ApiRootApi(ApiView):
    """The API's endpoints by URL name, with ``{id}`` where a path takes an id, and links to
    the documentation (``docs``: Swagger UI, ``redoc``) and the OpenAPI ``schema``."""

    permission_classes = [IsReviewer]
    # The URL patterns to list, given by the URL module (which imports this one):
    # ``ApiRootApi.as_view(endpoints=urlpatterns)``.
    endpoints: Sequence[URLPattern | URLResolver] = ()

    class OutputSerializer(serializers.Serializer):
        docs = serializers.URLField()
        redoc = serializers.URLField()
        schema = serializers.URLField()
        endpoints = serializers.DictField(
            child=serializers.CharField(),
            help_text='URL name -> URL, e.g. "items": "https://…/api/items/"',
        )

    @extend_schema(summary="List the API's endpoints", responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        base = request.build_absolute_uri(request.path)
        endpoints = {
            pattern.name.removeprefix("api-"): base + _template(str(pattern.pattern))
            for pattern in self.endpoints
            if isinstance(pattern, URLPattern) and pattern.name and pattern.name not in NOT_LISTED
        }
        docs = {name: base + route for name, route in DOCS.items()}
        return Response(self.OutputSerializer(docs | {"endpoints": endpoints}).data)


def _template(route: str) -> str:
    """``items/<id:pk>/`` -> ``items/{id}/`` (the schema's name for the parameter)."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m[1] == "pk" else f"{{{m[1]}}}", route)
