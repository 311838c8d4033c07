"""The review queue's default mix, as a strategy of the simulator (``--strategies queue``).

The product's queue (``labeling/services/review/queue_build.py``) fills each batch from
several reasons by quota, each reason diversified; the simulator's other strategies are one
reason each. This is the same mix, scored and mixed by the same code
(``classifier.acquisition.queue_reasons``), on a model in memory instead of stored
predictions, so the simulator can say whether the queue's default beats random. Audit is
random and part of the same mix here.

Quotas are the defaults of ``TAXOLOOP_QUEUE_QUOTAS`` without ``re-review`` (no publish
happens in a simulation); a test keeps them in step with the settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from classifier.acquisition import RandomSampling
from classifier.acquisition.diverse import diversity_embeddings
from classifier.acquisition.queue_reasons import (
    DIVERSITY_DIM,
    TYPICAL,
    reason_inputs,
    reason_mixer,
    reason_scores,
    typical_quotas,
)
from classifier.acquisition.topk import topk_hierarchical_margin
from classifier.acquisition.typical import typical_picks, typical_scores, typical_share
from classifier.tree import Tree

QUEUE_QUOTAS = {
    "uncertain": 0.35,
    "disagreement": 0.15,
    "boundary": 0.2,
    "novel": 0.1,
    "audit": 0.1,
}
TOP_K = 5  # the candidates a prediction stores (scoring.DEFAULT_TOP_K)


def queue_scores(
    tree: Tree, top_idx: np.ndarray, top_proba: np.ndarray, extras: dict[str, np.ndarray],
    threshold: float,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Each ranked reason's score per item (higher = sooner), from ``predict_topk``'s
    output; ``threshold`` is the roll-up threshold the boundary margin walks with."""
    boundary_margin, pairs = topk_hierarchical_margin(tree, top_idx, top_proba, threshold)
    return reason_scores(
        margin=extras["margin"],
        disagreement=extras["consensus_kl"],
        novelty=extras["novelty"],
        boundary_margin=boundary_margin,
        boundary_pairs=pairs,
    )


def select_queue_batch(
    model: Any, X_pool: dict[str, np.ndarray], X_labelled: dict[str, np.ndarray],
    modalities: tuple[str, ...], n: int, seed: int, threshold: float,
    base_quotas: dict[str, float] | None = None,
) -> np.ndarray:  # fmt: skip
    """Positions in the pool of the next ``n`` items, chosen as the queue would
    (``X_labelled``: the labelled items' features, which the typical reason covers;
    ``base_quotas``: instead of ``QUEUE_QUOTAS``, e.g. without audit when it is held out)."""
    top_idx, top_proba, extras = model.predict_topk(X_pool, k=min(TOP_K, model.tree.n_leaves))
    scores = queue_scores(model.tree, top_idx, top_proba, extras, threshold)
    quotas = typical_quotas(base_quotas or QUEUE_QUOTAS, typical_share(extras["confidence"]))
    blocks = [X_pool[m] for m in modalities]
    emb = diversity_embeddings(blocks, dim=sum(b.shape[1] for b in blocks))
    if TYPICAL in quotas:
        # Clustered in the queue's projection, as the product clusters them.
        pool_emb = diversity_embeddings(blocks, dim=DIVERSITY_DIM)
        labelled = diversity_embeddings([X_labelled[m] for m in modalities], dim=DIVERSITY_DIM)
        picks, _ = typical_picks(pool_emb, labelled, n, seed)
        scores[TYPICAL] = typical_scores(picks, len(top_idx))
    mixer = reason_mixer(quotas, emb, extra={"audit": RandomSampling(seed)})
    chosen = mixer.select(reason_inputs(scores, quotas), np.arange(len(top_idx)), n)
    return np.asarray(chosen, dtype=np.int64)
