"""A debounced, coalescing queue refresh for items scored one by one.

A full ``rebuild_queue`` takes about a minute at 1M items, so a new item must not cost one.
``TaxonomyVersion.queue_stale_since`` is the flag between the scorers and the rebuild:

- ``queue_refresh_request`` (after an item is scored) sets it only while it is NULL, and only
  the request that set it sends ``queue_refresh_task``, ``QUEUE_REFRESH_DELAY_SECONDS`` later:
  every item scored meanwhile rides on that one refresh.
- ``queue_refresh_claim`` (the task) sets it back to NULL, again conditionally, *before* the
  rebuild reads any prediction (``rebuild_queue`` clears it too). An item scored after the
  claim sets the flag anew and gets one more refresh; one scored before it is in the rebuild.
- ``queue_refresh_resend_stale`` (beat) sends the task again for a flag older than
  ``STALE_AFTER``: its message was lost (broker down, worker gone before the claim).

Every step is one conditional UPDATE, so several workers can run them at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from labeling.models import TaxonomyVersion
from labeling.services import dispatch

DEFAULT_DELAY_SECONDS = 15
# A flag this old has lost its task: beat (every minute) sends another.
STALE_AFTER = timedelta(minutes=5)


def queue_refresh_delay() -> int:
    """Seconds between the first new item and the refresh (``QUEUE_REFRESH_DELAY_SECONDS``)."""
    return int(settings.TAXOLOOP.get("QUEUE_REFRESH_DELAY_SECONDS", DEFAULT_DELAY_SECONDS))


def queue_refresh_mark(version: TaxonomyVersion) -> bool:
    """Flag the queue of ``version`` stale; False when it was flagged already."""
    unflagged = TaxonomyVersion.objects.filter(pk=version.pk, queue_stale_since__isnull=True)
    return bool(unflagged.update(queue_stale_since=timezone.now()))


def queue_refresh_request(version: TaxonomyVersion) -> bool:
    """Ask for a refresh of the queue of ``version``; True when this call sent the task (the
    first request since the last claim), False when one is pending already."""
    if not queue_refresh_mark(version):
        return False
    dispatch.enqueue_now("queue_refresh_task", version.pk, countdown=queue_refresh_delay())
    return True


def queue_refresh_claim(version: TaxonomyVersion) -> bool:
    """Clear the flag of ``version``; True when it was set (the caller must rebuild)."""
    flagged = TaxonomyVersion.objects.filter(pk=version.pk, queue_stale_since__isnull=False)
    return bool(flagged.update(queue_stale_since=None))


def queue_refresh_resend_stale() -> list[int]:
    """Send ``queue_refresh_task`` again for every version flagged longer than
    ``STALE_AFTER``; returns their ids. A task that arrives twice rebuilds once (the claim)."""
    cutoff = timezone.now() - STALE_AFTER
    stale = TaxonomyVersion.objects.filter(queue_stale_since__lt=cutoff).order_by("pk")
    ids = list(stale.values_list("pk", flat=True))
    for pk in ids:
        dispatch.enqueue_now("queue_refresh_task", pk)
    return ids
