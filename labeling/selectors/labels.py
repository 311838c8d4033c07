"""Read side of the label ledger."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from labeling.models import Label

LABEL_RELATED = ("item", "category", "author", "retracts")


def label_list(
    *,
    item_id: int | None = None,
    category_id: int | None = None,
    source: str | None = None,
    author: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    version_id: int | None = None,
    note: str | None = None,
) -> QuerySet[Label]:
    """Ledger lines, newest first, matching every given filter (``author`` is a username,
    ``note`` a piece of the line's note, in any case)."""
    filters = {
        "item_id": item_id,
        "category_id": category_id,
        "source": source,
        "author__username": author,
        "kind": kind,
        "created_at__gte": since,
        "taxonomy_version_id": version_id,
    }
    labels = Label.objects.select_related(*LABEL_RELATED).order_by("-created_at", "-id")
    if note:
        labels = labels.filter(note__icontains=note)
    return labels.filter(**{key: value for key, value in filters.items() if value is not None})


def label_get(*, pk: int) -> Label | None:
    return Label.objects.select_related(*LABEL_RELATED).filter(pk=pk).first()


def label_by_idempotency_key(*, key: str) -> Label | None:
    """The ledger line an earlier request wrote with this idempotency key, if any."""
    return Label.objects.select_related(*LABEL_RELATED).filter(idempotency_key=key).first()
