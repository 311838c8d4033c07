"""Item images: checked with PIL, stored content-addressed, read from bytes or an upload.

Images are validated with PIL (``classifier.images``) and stored under
``items/<sha256[:2]>/<sha256>.<ext>``: the name comes from the bytes and the detected format,
never from the client, so re-importing the same picture reuses the same file, and the name
carries the sha256 the item's content hash needs (``item_fields``). A full media disk
(``MediaDiskFull``, from ``labeling.services.catalog.media_files``) fails the save and leaves
no partial file.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from classifier.images import ImageError, validate_image_bytes
from labeling.services.catalog.item_fields import ItemError
from labeling.services.catalog.media_files import media_save_once

ITEM_IMAGE_INVALID = "The image {name!r} was refused: {reason}."
ITEM_IMAGE_TOO_LARGE = "The image {name!r} is too large: {size:,} bytes (limit {limit:,})."
ITEM_IMAGE_WRONG_TYPE = "The image must be uploaded file bytes, not {kind}."

IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


def image_storage_name(*, sha256: str, image_format: str) -> str:
    """The content-addressed storage name of an image with this sha256 and PIL format."""
    return f"items/{sha256[:2]}/{sha256}.{IMAGE_EXTENSIONS[image_format]}"


def image_validate(*, data: bytes, filename_hint: str) -> str:
    """Check ``data`` is an allowed, complete, not oversized image; return its PIL format."""
    limit = settings.TAXOLOOP["MAX_IMAGE_BYTES"]
    if len(data) > limit:
        raise ItemError(
            ITEM_IMAGE_TOO_LARGE.format(name=filename_hint, size=len(data), limit=limit),
            field="image",
        )
    try:
        _, _, image_format = validate_image_bytes(
            data, max_bytes=limit, max_pixels=settings.TAXOLOOP["MAX_IMAGE_PIXELS"]
        )
    except ImageError as error:
        raise ItemError(
            ITEM_IMAGE_INVALID.format(name=filename_hint, reason=error.reason), field="image"
        ) from error
    if image_format not in IMAGE_EXTENSIONS:  # validate_image_bytes allows only these today
        raise ItemError(
            ITEM_IMAGE_INVALID.format(name=filename_hint, reason=f"format {image_format}"),
            field="image",
        )
    return image_format


def image_save_validated(*, data: bytes, image_format: str) -> str:
    """Store already-validated bytes under their content address; reuse an existing file."""
    return image_save_reporting_new(data=data, image_format=image_format)[0]


def image_save_reporting_new(*, data: bytes, image_format: str) -> tuple[str, bool]:
    """As ``image_save_validated``, and whether the file was written now (not reused).

    An importer needs to know so that it can remove a file it wrote for a row whose database
    write then failed, and never one that an existing item already points to. Raises
    MediaDiskFull when the disk is full (nothing of the file is left).
    """
    name = image_storage_name(sha256=hashlib.sha256(data).hexdigest(), image_format=image_format)
    return media_save_once(name=name, data=data)


def image_store(*, data: bytes, filename_hint: str) -> str:
    """Validate an image and save it under ``items/<sha[:2]>/<sha>.<ext>``; the storage name.

    ``filename_hint`` only appears in error messages: the stored name and extension come from
    the content and the detected format.
    """
    image_format = image_validate(data=data, filename_hint=filename_hint)
    return image_save_validated(data=data, image_format=image_format)


def image_read(image: bytes | UploadedFile) -> tuple[bytes, str]:
    """The bytes of ``image`` (bytes or an upload) and a name for error messages; an upload
    over ``MAX_IMAGE_BYTES`` is refused before it is read into memory."""
    if isinstance(image, bytes | bytearray):
        return bytes(image), "image"
    if not isinstance(image, UploadedFile):
        raise ItemError(ITEM_IMAGE_WRONG_TYPE.format(kind=type(image).__name__), field="image")
    hint = image.name or "upload"
    limit = settings.TAXOLOOP["MAX_IMAGE_BYTES"]
    if image.size is not None and image.size > limit:  # refuse before reading it into memory
        raise ItemError(
            ITEM_IMAGE_TOO_LARGE.format(name=hint, size=image.size, limit=limit), field="image"
        )
    return b"".join(image.chunks()), hint
