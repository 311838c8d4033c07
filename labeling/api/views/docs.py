"""GET /api/schema/: the OpenAPI document, readable in a browser.

drf-spectacular answers with ``application/vnd.oai.openapi`` (YAML), a type no browser shows:
opening /api/schema/ downloaded a file. A request from a browser (one that accepts
``text/html``) now gets the same YAML as ``text/plain``, or with ``?format=json`` the JSON as
``application/json``, both shown in the tab. Clients that ask for a schema type by ``Accept``
(Swagger UI, code generators, schemathesis) and plain ``curl`` get what they got before.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.renderers import OpenApiJsonRenderer2, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class OpenApiYamlTextRenderer(OpenApiYamlRenderer):
    media_type = "text/plain"


class SchemaApi(SpectacularAPIView):
    renderer_classes = [*SpectacularAPIView.renderer_classes, OpenApiYamlTextRenderer]

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        renderer, media_type = super().perform_content_negotiation(request, force)
        if "text/html" not in request.META.get("HTTP_ACCEPT", ""):
            return renderer, media_type
        viewable: Any = (
            OpenApiJsonRenderer2() if renderer.format == "json" else OpenApiYamlTextRenderer()
        )
        return viewable, viewable.media_type
