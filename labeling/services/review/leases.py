"""The review queue: leases on queue entries."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from labeling.models import QueueEntry


@transaction.atomic
def queue_release_expired_leases() -> int:
    """Return entries whose lease has run out to the pool; the number released."""
    return QueueEntry.objects.filter(lease_expires_at__lt=timezone.now()).update(
        lease_holder=None, lease_expires_at=None
    )
