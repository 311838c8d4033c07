"""``prediction_shown``: what a label (or a proposal) records about the prediction its author
saw. One shape, built here only, whether the decision came from the review card
(``decisions``) or from a report (``corrections``).

Rows written before this shape existed hold one of two older ones, and there is no
migration, so readers use ``.get`` and must tolerate missing keys:

- review decisions and proposals: ``candidates``, ``model_version``, ``reason``, ``detail``
  (no ``top_category``, no ``confidence``);
- report corrections: ``candidates``, ``model_version``, ``top_category``, ``confidence``
  (no ``reason``, no ``detail``).

Every shape has ``candidates`` best first, so ``candidates[0]["category"]`` is the top shown
in all of them (``labeling.selectors.report_pairs`` reads it that way). ``{}``: no page was
involved (an import, the API).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from labeling.models import Prediction, TaxonomyVersion
from labeling.selectors.category_index import candidates_in_version


class ShownPrediction(NamedTuple):
    """What one new label records about the prediction on screen: the model version's id (the
    ``Label.model_version`` foreign key) and the ``prediction_shown`` JSON."""

    model_version_id: int | None
    prediction_shown: dict[str, Any]


def prediction_shown(
    *,
    candidates: Sequence[Mapping[str, Any]],
    model_version: int | None,
    top_category: int | None = None,
    confidence: float | None = None,
    reason: str = "",
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``prediction_shown`` JSON; every key is always present.

    - ``candidates``: ``[{"category": id, "p": probability}, …]`` as the page showed them, best
      first; an older model's are mapped into the current taxonomy version, as on screen.
    - ``model_version``: id of the model version that made the prediction, or None.
    - ``top_category``: id of the category shown as the prediction (default: the first
      candidate's), or None when the page showed none.
    - ``confidence``: the prediction's ``Prediction.confidence`` when the page was rendered,
      or None when it is not known.
    - ``reason``: why the review queue held the item (a ``QueueEntry.Reason``); "" outside the
      queue (a report).
    - ``detail``: the queue entry's figures behind that reason; {} outside the queue.
    """
    rows = [dict(c) for c in candidates]
    if top_category is None and rows:
        top_category = rows[0]["category"]
    return {
        "candidates": rows,
        "model_version": model_version,
        "top_category": top_category,
        "confidence": confidence,
        "reason": reason,
        "detail": dict(detail or {}),
    }


def shown_in_report(
    prediction: Prediction | None, version: TaxonomyVersion | None
) -> ShownPrediction:
    """What a report row showed of ``prediction`` (its ``model_version`` loaded): an older
    model's candidates are mapped into ``version``, as the page and the review card show them.
    """
    if prediction is None:
        return ShownPrediction(None, prediction_shown(candidates=[], model_version=None))
    candidates, top = list(prediction.candidates or []), prediction.top_category_id
    if version is not None and prediction.model_version.taxonomy_version_id != version.pk:
        candidates = candidates_in_version(candidates, version)
        top = candidates[0]["category"] if candidates else None
    shown = prediction_shown(
        candidates=candidates,
        model_version=prediction.model_version_id,
        top_category=top,
        confidence=prediction.confidence,
    )
    return ShownPrediction(prediction.model_version_id, shown)
