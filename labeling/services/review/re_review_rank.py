"""Re-rank a publish's split re-review by the new version's own model.

A publish puts the items of a split category on the queue as ``re-review`` ranked by the
*old* model's confidence (``taxonomy.publish``, when it queues a split's items): nothing knew the new
children then. Once a model of the new version has scored those items, the question a
reviewer answers, "which of the new children is it?", has a better measure: how evenly the
model spreads its probability over the children. For each such entry

    shares  = the model's top-k probability mass under each child, normalised
    priority = 1 + (1 - (share_1 - share_2))

so an item split 50/50 between two children comes first (priority near 2) and one the model
puts 95% under one child comes last (near 1.1). An item whose top-k holds nothing under the
split node at all gets 2: the model doubts the label itself. Priorities stay above 1, over
the rebuilt queue's (0, 1], as the publish set them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labeling.models import Category, ModelVersion, QueueEntry, TaxonomyVersion


def rerank_split_re_review(version: TaxonomyVersion, mv: ModelVersion) -> int:
    """Set the priority of ``version``'s publish re-review entries from ``mv``'s predictions
    (items ``mv`` has not scored keep theirs). Returns the number of entries re-ranked."""
    if mv.taxonomy_version_id != version.pk:
        return 0
    entries = list(
        QueueEntry.objects.filter(
            reason=QueueEntry.Reason.RE_REVIEW,
            detail__publish=version.pk,
            item__prediction__model_version=mv,
        ).values_list("pk", "detail", "item__prediction__candidates")
    )
    if not entries:
        return 0
    parents = dict(Category.objects.filter(version=version).values_list("pk", "parent_id"))
    updated = []
    for pk, detail, candidates in entries:
        # ``split`` names the split category in ``version``: an inner node over its children.
        node = detail.get("split")
        if node not in parents:
            continue
        margin = child_margin(candidates or [], int(node), parents)
        updated.append(
            QueueEntry(
                pk=pk,
                priority=1.0 + (1.0 - margin),
                detail={**detail, "ranked_by_model": mv.pk, "child_margin": round(margin, 4)},
            )
        )
    QueueEntry.objects.bulk_update(updated, ["priority", "detail"], batch_size=1000)
    return len(updated)


def child_margin(
    candidates: Sequence[Mapping[str, Any]], node: int, parents: Mapping[int, int | None]
) -> float:
    """Margin between the two children of ``node`` that hold most of the candidates'
    probability, as shares of the mass under ``node`` (0 when there is none)."""
    mass: dict[int, float] = {}
    for candidate in candidates:
        child = _child_under(int(candidate["category"]), node, parents)
        if child is not None:
            mass[child] = mass.get(child, 0.0) + float(candidate["p"])
    total = sum(mass.values())
    if total <= 0:
        return 0.0
    shares = sorted((m / total for m in mass.values()), reverse=True) + [0.0]
    return shares[0] - shares[1]


def _child_under(category: int, node: int, parents: Mapping[int, int | None]) -> int | None:
    """The child of ``node`` on ``category``'s path to the root, or None when ``category``
    is not below ``node``."""
    current: int | None = category
    while current is not None:
        parent = parents.get(current)
        if parent == node:
            return current
        current = parent
    return None
