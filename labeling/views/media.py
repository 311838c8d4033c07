"""Item images, served to people who may see the catalog (not from a public media URL).

Media files are only served by Django's static helper with DEBUG on; in production nothing
would serve them, and a public ``/media/`` would show the catalog to anyone. This view checks
the login and role like every other page and streams the stored file.
"""

from __future__ import annotations

import mimetypes

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from labeling.models import Item
from labeling.views.access import reviewer_required


@require_GET
@reviewer_required
def item_image(request: HttpRequest, pk: int) -> FileResponse:
    item = get_object_or_404(Item.objects.only("image"), pk=pk)
    if not item.image or not default_storage.exists(item.image.name):
        raise Http404("This item has no image.")
    content_type = mimetypes.guess_type(item.image.name)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(item.image.name, "rb"), content_type=content_type)
    # Stored under their content hash, so a URL's bytes never change; private: behind a login.
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
