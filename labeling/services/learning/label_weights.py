"""How much each training label counts, from what we learn about its author (issue 16).

A label the team agreed on (``context="agreed"``) or an adjudicator decided
(``"adjudicated"``) weighs 1. A label whose author has a ``ReviewerReliability`` weighs
their trust for the label's top-level branch (the probability that an answer of theirs there
is right; their accuracy when the branch has no figure). Anything else (imports, labels
without an author, authors not estimated yet) weighs 1. The fit scales the weights to mean 1
(``classifier.model.inputs``), so only their ratios matter: a team that is uniformly
trusted trains as if unweighted. The estimates are ``labeling.services.review.reliability``,
refreshed at the start of a run when the ledger moved. ``TAXOLOOP["RELIABILITY_WEIGHTS"]``
(default True) False: every label weighs 1 and the fit gets no weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.conf import settings

from labeling.models import ReviewerReliability, TaxonomyVersion
from labeling.services.learning.ml import VersionTree
from labeling.services.review.overlap import ADJUDICATED, AGREED
from labeling.services.review.reliability import reliability_refresh_stale

log = logging.getLogger(__name__)

FULL_WEIGHT_CONTEXTS = frozenset({AGREED, ADJUDICATED})


def reliability_weights_enabled() -> bool:
    return bool(settings.TAXOLOOP.get("RELIABILITY_WEIGHTS", True))


def label_weights_prepare(*, version: TaxonomyVersion) -> None:
    """Refresh the reviewers' estimates before a run reads its labels, when weights are on
    and the ledger moved. A failure is logged and the run goes on with the stored ones."""
    if not reliability_weights_enabled():
        return
    try:
        reliability_refresh_stale(version=version)
    except Exception:
        log.warning(
            "reviewer reliability could not be refreshed; using the stored estimates", exc_info=True
        )


def label_weights(
    *,
    vt: VersionTree,
    nodes: np.ndarray,
    authors: Sequence[int | None],
    contexts: Sequence[str],
) -> np.ndarray | None:
    """``(n,)`` float64 weight of each label (``nodes``: its category's node in ``vt``), or
    None when ``RELIABILITY_WEIGHTS`` is off."""
    if not reliability_weights_enabled():
        return None
    estimates = {
        user: (accuracy, trust)
        for user, accuracy, trust in ReviewerReliability.objects.values_list(
            "user_id", "accuracy", "trust"
        )
    }
    top_key: dict[int, str] = {}
    weights = np.ones(len(nodes), dtype=np.float64)
    for i, (node, author, context) in enumerate(zip(nodes, authors, contexts, strict=True)):
        estimate = estimates.get(author) if author is not None else None
        if context in FULL_WEIGHT_CONTEXTS or estimate is None:
            continue
        node = int(node)
        if node not in top_key:
            top_key[node] = vt.tree.keys[vt.tree.path(node)[0]]
        accuracy, trust = estimate
        weights[i] = float((trust or {}).get(top_key[node], accuracy))
    return weights


def weight_summary(weights: np.ndarray | None) -> dict[str, Any] | None:
    """What a model's metrics record of its training weights (None: unweighted)."""
    if weights is None or not len(weights):
        return None
    return {
        "rows": len(weights),
        "down_weighted": int((weights < 1.0).sum()),
        "min": round(float(weights.min()), 4),
        "mean": round(float(weights.mean()), 4),
    }
