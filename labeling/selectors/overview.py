from __future__ import annotations

from labeling.models import Item, Label, ModelVersion, QueueEntry, TaxonomyVersion


def overview_counts() -> dict[str, object]:
    """The few numbers the home page shows."""
    current = TaxonomyVersion.objects.filter(is_current=True).select_related("taxonomy").first()
    return {
        "items": Item.objects.count(),
        "labelled_items": Item.objects.filter(current_label__isnull=False).count(),
        "labels": Label.objects.filter(kind=Label.Kind.LABEL).count(),
        "queue": QueueEntry.objects.count(),
        "current_version": current,
        "active_model": ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first(),
    }
