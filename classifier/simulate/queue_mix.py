"""The review queue's default mix, as a strategy of the simulator (``--strategies queue``).

The product's queue (``labeling/services/review/queue_build.py``) fills each batch from
several reasons by quota, each reason diversified; the simulator's other strategies are one
reason each. This is the same mix computed from a model in memory instead of stored
predictions, so the simulator can say whether the queue's default beats random:

- ``uncertain``: 1 - the margin between the two best leaves;
- ``disagreement``: the committee's consensus KL, only where it is at least
  ``DISAGREEMENT_FLOOR`` (a committee that agrees everywhere hands its share on);
- ``boundary``: 1 - the hierarchical margin of the top-k leaves (0 for an item sure down to
  a leaf);
- ``novel``: the distance to the nearest labelled leaf prototype;
- ``audit``: random.

Quotas are the defaults of ``TAXOLOOP_QUEUE_QUOTAS`` without ``re-review`` (no publish
happens in a simulation); a test keeps them in step with the settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from classifier.acquisition import DiverseBatch, Novelty, QuotaMixer, RandomSampling
from classifier.acquisition.diverse import diversity_embeddings
from classifier.acquisition.topk import topk_hierarchical_margin
from classifier.tree import Tree

QUEUE_QUOTAS = {
    "uncertain": 0.35,
    "disagreement": 0.15,
    "boundary": 0.2,
    "novel": 0.1,
    "audit": 0.1,
}
DISAGREEMENT_FLOOR = 1e-3  # as queue_build.DISAGREEMENT_FLOOR
DIVERSITY_POOL_FACTOR = 3  # as queue_build.DIVERSITY_POOL_FACTOR
TOP_K = 5  # the candidates a prediction stores (scoring.DEFAULT_TOP_K)


def queue_scores(
    tree: Tree, top_idx: np.ndarray, top_proba: np.ndarray, extras: dict[str, np.ndarray],
    threshold: float,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Each ranked reason's score per item (higher = sooner), from ``predict_topk``'s
    output; ``threshold`` is the roll-up threshold the boundary margin walks with."""
    hier_margin, pairs = topk_hierarchical_margin(tree, top_idx, top_proba, threshold)
    return {
        "uncertain": 1.0 - extras["margin"].astype(np.float64),
        "disagreement": extras["consensus_kl"].astype(np.float64),
        "boundary": np.where(pairs[:, 1] >= 0, 1.0 - hier_margin, 0.0),
        "novel": extras["novelty"].astype(np.float64),
    }


def select_queue_batch(
    model: Any, X_pool: dict[str, np.ndarray], modalities: tuple[str, ...], n: int, seed: int,
    threshold: float,
) -> np.ndarray:  # fmt: skip
    """Positions in the pool of the next ``n`` items, chosen as the queue would."""
    top_idx, top_proba, extras = model.predict_topk(X_pool, k=min(TOP_K, model.tree.n_leaves))
    scores = queue_scores(model.tree, top_idx, top_proba, extras, threshold)
    blocks = [X_pool[m] for m in modalities]
    emb = diversity_embeddings(blocks, dim=sum(b.shape[1] for b in blocks))
    inputs: dict[str, Any] = dict(scores)
    if not (scores["disagreement"] >= DISAGREEMENT_FLOOR).any():
        inputs["disagreement"] = None  # e.g. a committee of one head
    strategies: dict[str, Any] = {
        r: DiverseBatch(Novelty(), emb, pool_factor=DIVERSITY_POOL_FACTOR) for r in scores
    }
    strategies["audit"] = RandomSampling(seed)
    mixer = QuotaMixer(QUEUE_QUOTAS, strategies, min_scores={"disagreement": DISAGREEMENT_FLOOR})
    return np.asarray(mixer.select(inputs, np.arange(len(top_idx)), n), dtype=np.int64)
