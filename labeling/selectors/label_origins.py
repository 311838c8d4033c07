"""Who made the decision behind a label that a taxonomy publish carried over.

A publish writes one new ledger row per migrated label: source ``migration``, no author,
``migrated_from`` the row it replaces. The decision is still the original one, so exports and
ledgers show the original's author and source, and the migration as provenance. A label may
have crossed several publishes: ``migrated_from`` is followed to the row where the chain ends,
one query per publish crossed, whatever the number of labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labeling.models import Label


@dataclass(frozen=True)
class LabelOrigin:
    label_id: int  # the original ledger row (not itself migrated)
    author: str | None  # its author's username
    source: str


def label_origins(*, ids: Iterable[int]) -> dict[int, LabelOrigin]:
    """The original decision behind each label in ``ids`` (a label never migrated is its own
    origin), by the id asked about."""
    origins: dict[int, LabelOrigin] = {}
    walking = {pk: pk for pk in ids}  # the label asked about -> the row reached so far
    while walking:
        rows = {
            row[0]: row
            for row in Label.objects.filter(pk__in=set(walking.values()))
            .order_by()
            .values_list("pk", "migrated_from_id", "author__username", "source")
        }
        further: dict[int, int] = {}
        for asked, reached in walking.items():
            if reached not in rows:
                continue
            pk, parent, author, source = rows[reached]
            if parent is None:
                origins[asked] = LabelOrigin(pk, author, source)
            else:
                further[asked] = parent
        walking = further
    return origins


def label_origins_in(labels: Iterable[Label]) -> dict[int, Label]:
    """The same for labels already in memory that hold their whole chain (an item's ledger):
    ``{label id: its original Label}``, no query."""
    by_pk = {label.pk: label for label in labels}
    origins = {}
    for label in by_pk.values():
        origin, seen = label, {label.pk}
        while origin.migrated_from_id in by_pk and origin.migrated_from_id not in seen:
            origin = by_pk[origin.migrated_from_id]
            seen.add(origin.pk)
        origins[label.pk] = origin
    return origins
