"""Item images, served to people who may see the catalog (not from a public media URL).

Media files are only served by Django's static helper with DEBUG on; in production nothing
would serve them, and a public ``/media/`` would show the catalog to anyone. This view checks
the login and role like every other page and streams the stored file.

The Content-Type comes from the file's first bytes, never from its name: a file that is not
one of the image formats the importer accepts (an HTML or SVG file uploaded through the
Django admin, say) is sent as an attachment of type application/octet-stream, and every answer
carries ``nosniff`` and a sandboxing Content-Security-Policy, so no stored file can ever run as
a page on our origin.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from labeling.models import Item
from labeling.views.access import reviewer_required

# (magic prefix, offset of a second marker or -1, that marker, content type, extension)
_SIGNATURES: tuple[tuple[bytes, int, bytes, str, str], ...] = (
    (b"\xff\xd8\xff", -1, b"", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", -1, b"", "image/png", "png"),
    (b"GIF87a", -1, b"", "image/gif", "gif"),
    (b"GIF89a", -1, b"", "image/gif", "gif"),
    (b"RIFF", 8, b"WEBP", "image/webp", "webp"),
    (b"BM", -1, b"", "image/bmp", "bmp"),
)
UNKNOWN_TYPE = ("application/octet-stream", "bin")
SANDBOX_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def sniff_image_type(head: bytes) -> tuple[str, str]:
    """(content type, extension) of an allowed image format from its first 12 bytes."""
    for prefix, offset, marker, content_type, extension in _SIGNATURES:
        if head.startswith(prefix) and (offset < 0 or head[offset : offset + 4] == marker):
            return content_type, extension
    return UNKNOWN_TYPE


@require_GET
@reviewer_required
def item_image(request: HttpRequest, pk: int) -> FileResponse:
    item = get_object_or_404(Item.objects.only("image"), pk=pk)
    if not item.image or not default_storage.exists(item.image.name):
        raise Http404("This item has no image.")
    handle = default_storage.open(item.image.name, "rb")
    content_type, extension = sniff_image_type(handle.read(12))
    handle.seek(0)
    is_image = content_type != UNKNOWN_TYPE[0]
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=not is_image,
        filename=f"item-{pk}.{extension}",
    )
    # Stored under their content hash, so a URL's bytes never change; private: behind a login.
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    return response
