"""The review queue's ranked reasons: how each scores an item and how they are mixed.

One definition for the queue (``labeling/services/review/queue_build.py``, on predictions
stored by the rescore) and the simulator's ``queue`` strategy (``classifier/simulate/
queue_mix.py``, on a model in memory), so what the simulator measures is what reviewers get:

- ``uncertain``: 1 - the margin between the two best leaves;
- ``disagreement``: the committee's consensus KL, a candidate only at ``DISAGREEMENT_FLOOR``
  or more (a cold-start model's heads are identical: that reason then hands its share on);
- ``boundary``: 1 - the hierarchical margin of the top-k leaves, 0 for an item whose top
  node has no runner-up (sure down to a leaf);
- ``novel``: the distance to the nearest labelled leaf prototype;
- ``typical``: coverage, one typical item of each of the largest unlabelled regions
  (``classifier.acquisition.typical``). Its share is not fixed: ``typical_quotas`` gives it
  the model's expected error on the pool (``typical_share``) of the ranked reasons' part,
  so a model that is mostly wrong spends its labels on coverage and one mostly right on
  uncertainty.

Each reason's picks are diversified (``DiverseBatch``) and the reasons share the batch by
quota (``QuotaMixer``). Audit (random) and re-review are chosen apart by the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .diverse import DiverseBatch
from .mixer import QuotaMixer
from .pointwise import Novelty
from .typical import TYPICAL_FLOOR

UNCERTAIN = "uncertain"
DISAGREEMENT = "disagreement"
BOUNDARY = "boundary"
NOVEL = "novel"
RANKED_REASONS = (UNCERTAIN, DISAGREEMENT, BOUNDARY, NOVEL)
TYPICAL = "typical"

# Committee KL (nats) below this is agreement: a cold-start model has identical heads.
DISAGREEMENT_FLOOR = 1e-3
# DiverseBatch looks at this many of a reason's best candidates per wanted item.
DIVERSITY_POOL_FACTOR = 3
# Diversity distances, and typical's clusters, are computed in a random projection of this
# size (Johnson-Lindenstrauss: distances survive within a few percent, and the greedy picks
# get 25x cheaper than at 1664-d).
DIVERSITY_DIM = 64


class StoredScore(Novelty):
    """A strategy over a number already computed (higher = more wanted).

    ``Novelty`` is exactly "rank by the given score"; the subclass only names the intent.
    """

    name = "stored_score"


def reason_scores(
    *,
    margin: np.ndarray,
    disagreement: np.ndarray,
    novelty: np.ndarray,
    boundary_margin: np.ndarray,
    boundary_pairs: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each ranked reason's ``(n,)`` score (higher = sooner) from the leaf margin, the
    committee's consensus KL, the novelty and ``topk_hierarchical_margin``'s margins and
    ``(top, runner-up)`` node pairs."""
    return {
        UNCERTAIN: 1.0 - np.asarray(margin, dtype=np.float64),
        DISAGREEMENT: np.asarray(disagreement, dtype=np.float64),
        BOUNDARY: np.where(boundary_pairs[:, 1] >= 0, 1.0 - boundary_margin, 0.0),
        NOVEL: np.asarray(novelty, dtype=np.float64),
    }


def reason_inputs(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> dict[str, np.ndarray | None]:
    """The mixer's input of each weighted reason: its scores (``TYPICAL``'s from
    ``typical_scores``), or None (no candidates this time) for a disagreement that never
    reaches ``DISAGREEMENT_FLOOR``."""
    inputs: dict[str, np.ndarray | None] = {r: scores[r] for r in weights if r in scores}
    if DISAGREEMENT in inputs and not (scores[DISAGREEMENT] >= DISAGREEMENT_FLOOR).any():
        inputs[DISAGREEMENT] = None
    return inputs


def typical_quotas(quotas: Mapping[str, float], share: float) -> dict[str, float]:
    """``quotas`` with ``TYPICAL`` taking ``share`` (in ``[0, 1]``) of the ranked reasons'
    total and those reasons scaled by ``1 - share``; other reasons (audit, re-review) keep
    theirs. A share of 0 leaves ``quotas`` as they are (no typical reason)."""
    share = float(min(max(share, 0.0), 1.0))
    out = {r: float(q) for r, q in quotas.items() if r != TYPICAL}
    ranked = sum(q for r, q in out.items() if r in RANKED_REASONS)
    if share <= 0.0 or ranked <= 0.0:
        return out
    for r in out:
        if r in RANKED_REASONS:
            out[r] *= 1.0 - share
    out[TYPICAL] = ranked * share
    return out


def reason_mixer(
    weights: Mapping[str, float], embeddings: np.ndarray, extra: Mapping[str, Any] | None = None
) -> QuotaMixer:
    """A ``QuotaMixer`` of the ranked reasons in ``weights``, each a ``StoredScore``
    diversified over ``embeddings`` (rows = the candidates), and of ``TYPICAL`` (a
    ``StoredScore`` of ``typical_scores``: its picks are one per region, diverse already);
    ``extra``: strategies of other reasons in the same mix (e.g. a random audit)."""
    strategies: dict[str, Any] = {
        r: DiverseBatch(StoredScore(), embeddings, pool_factor=DIVERSITY_POOL_FACTOR)
        for r in weights
        if r in RANKED_REASONS
    }
    if TYPICAL in weights:
        strategies[TYPICAL] = StoredScore()
    strategies.update(extra or {})
    floors = {DISAGREEMENT: DISAGREEMENT_FLOOR, TYPICAL: TYPICAL_FLOOR}
    return QuotaMixer(weights, strategies, min_scores=floors)
