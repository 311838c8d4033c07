"""Writing files to media storage so that a full disk leaves nothing half-written behind.

Django's FileSystemStorage writes in place: when the disk fills up half-way (ENOSPC, a quota,
a file-size limit) the truncated file stays under its final name. Item images are stored
under their content hash and reused whenever that name exists, so one truncated file would be
served, embedded and reused for every later upload of the same picture. Here a failed write
removes what it left, a reused file must have the expected size, and a full disk becomes
``MediaDiskFull``: a server-side condition (HTTP 507), not a fault of the request.
"""

from __future__ import annotations

import errno
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

log = logging.getLogger(__name__)

# "No space left on device", "Disk quota exceeded", "File too large": all mean the same to a
# user: the server cannot store more until someone frees space or raises the limit.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
MEDIA_DISK_FULL = (
    "The media disk is full: free space on {root} (MEDIA_ROOT) or raise its quota, then try "
    "again. Nothing was saved."
)


class MediaDiskFull(Exception):
    """Media storage has no room left. Not a ServiceError: the request itself was fine, so
    views must not show it as a form error; ``labeling.unavailable`` answers 507."""


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


def media_disk_full_message() -> str:
    return MEDIA_DISK_FULL.format(root=settings.MEDIA_ROOT)


def media_save_once(*, name: str, data: bytes) -> tuple[str, bool]:
    """Store ``data`` under ``name`` unless a complete copy is already there.

    Returns the stored name and whether it was written now. ``name`` is meant to be derived
    from ``data`` (a content hash), so a file there of another size cannot hold these bytes:
    it is the leftover of an interrupted write and is replaced. Raises MediaDiskFull when the
    disk is full, after removing whatever the failed write left.
    """
    if default_storage.exists(name):
        if default_storage.size(name) == len(data):
            return name, False
        log.warning("replacing the truncated media file %s (an earlier write was cut off)", name)
        default_storage.delete(name)
    try:
        return default_storage.save(name, ContentFile(data)), True
    except OSError as error:
        _remove_partial(name, len(data))
        if is_disk_full(error):
            log.error("media storage is full writing %s: %s", name, error)
            raise MediaDiskFull(media_disk_full_message()) from error
        raise


def _remove_partial(name: str, size: int) -> None:
    """Remove ``name`` if the failed write left a short copy (a complete one, written by a
    concurrent request meanwhile, is kept)."""
    try:
        if default_storage.exists(name) and default_storage.size(name) != size:
            default_storage.delete(name)
    except OSError:
        log.warning("could not remove the partial media file %s", name, exc_info=True)
