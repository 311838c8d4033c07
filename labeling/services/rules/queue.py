"""Items a review rule sends to people (issue 17), for the queue rebuild.

At scoring, an item a switched-on review rule hits is written with that rule
(``Prediction.rule``, ``scoring.apply_to_scores``) and not auto-accepted; the rebuild
(``labeling.services.review.queue_build``) puts those of its pool at the top of the queue with
the reason ``rule`` and the rule's text, which the review card shows. A rule switched off
since the last scoring sends nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labeling.models import ModelVersion, Prediction, Rule

# Queue order: rule items sit this many times nearer the top than their share would put them
# (queue_build._interleave), i.e. first.
RULE_PULL = 1e6


def review_rule_picks(
    *, mv: ModelVersion, item_ids: np.ndarray, rows: np.ndarray, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """Of ``rows`` (positions into the pool's ``item_ids``), those a review rule sent to
    people at their last scoring by ``mv``: ``(row, detail)`` in row order, at most ``limit``.
    ``detail``: the rule's id, name and reason."""
    if limit <= 0 or not len(rows):
        return []
    found = list(
        Prediction.objects.filter(
            model_version=mv, rule__action=Rule.Action.REVIEW, rule__enabled=True
        ).values_list("item_id", "rule_id", "rule__name", "rule__reason")
    )
    if not found:
        return []
    by_item = {item: {"rule": rule, "name": name, "text": text} for item, rule, name, text in found}
    rows = np.sort(rows)
    hit = rows[np.isin(item_ids[rows], np.fromiter(by_item, dtype=np.int64, count=len(by_item)))]
    return [(int(r), by_item[int(item_ids[r])]) for r in hit[:limit].tolist()]
