from __future__ import annotations

from labeling.models import Item, Label, ModelVersion, QueueEntry
from labeling.selectors.taxonomy import current_version


def overview_counts() -> dict[str, object]:
    """The few numbers the home page shows."""
    current = current_version()
    return {
        "items": Item.objects.count(),
        "labelled_items": Item.objects.filter(current_label__isnull=False).count(),
        "labels": Label.objects.filter(kind=Label.Kind.LABEL).count(),
        "queue": QueueEntry.objects.count(),
        "current_version": current,
        "active_model": ModelVersion.objects.filter(
            taxonomy_version=current, status=ModelVersion.Status.ACTIVE
        ).first()
        if current is not None
        else None,
    }
