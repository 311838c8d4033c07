"""What a queue rebuild chooses from: one row per scored item, read from the stored predictions.

``load_pool`` reads the numbers ``rescore`` wrote for the active model (a few floats and the
top-k per item, never the embeddings) into arrays, leased items left out. From those,
``contradicted_rows`` finds the labelled items the model questions (the ``re-review``
reason's fallback before a version's first label-error scan, ``queue_re_review``) and ``boundary_margins`` the hierarchical margin of every item (the ``boundary``
reason; the array work is ``classifier.acquisition.topk``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from classifier.acquisition.topk import leaf_columns, topk_hierarchical_margin
from labeling.models import ModelVersion, Prediction, TaxonomyVersion
from labeling.services.learning import ml

# The model must be at least this sure before it may question a reviewer's label.
RE_REVIEW_CONFIDENCE = 0.9
# Rows per block when rebuilding leaf probabilities from the stored top-k.
PROBA_BLOCK = 8192


@dataclass
class CandidatePool:
    """One row per item with a prediction of the active model, leased items left out."""

    item_ids: np.ndarray
    confidence: np.ndarray
    margin: np.ndarray
    disagreement: np.ndarray
    novelty: np.ndarray
    top_cat: np.ndarray
    cand_cats: np.ndarray  # (n, k) category ids of the stored top-k, -1 padded
    cand_p: np.ndarray  # (n, k)
    label_cat: np.ndarray  # category of the current label in this version, or -1
    accepted: np.ndarray  # bool: auto-accepted (certified); only audit may take these

    def take(self, rows: np.ndarray) -> CandidatePool:
        """The pool of just ``rows``, in that order."""
        return CandidatePool(**{k: v[rows] for k, v in vars(self).items()})


def load_pool(mv: ModelVersion, version: TaxonomyVersion, leased: set[int]) -> CandidatePool:
    """The stored predictions of ``mv`` in item id order, items in ``leased`` left out."""
    rows = (
        Prediction.objects.filter(model_version=mv)
        .order_by("item_id")
        .values_list(
            "item_id",
            "confidence",
            "margin",
            "disagreement",
            "novelty",
            "top_category_id",
            "candidates",
            "item__current_label__taxonomy_version_id",
            "item__current_label__category_id",
            "status",
        )
    )
    data = [r for r in rows.iterator(chunk_size=5000) if r[0] not in leased]
    k = max((len(r[6] or []) for r in data), default=1)
    cand_cats = np.full((len(data), k), -1, dtype=np.int64)
    cand_p = np.zeros((len(data), k), dtype=np.float32)
    for i, r in enumerate(data):
        for j, c in enumerate(r[6] or []):
            cand_cats[i, j], cand_p[i, j] = c["category"], c["p"]
    col = lambda j, dt=np.float64: np.array([r[j] for r in data], dtype=dt)  # noqa: E731
    return CandidatePool(
        item_ids=col(0, np.int64),
        confidence=col(1),
        margin=col(2),
        disagreement=col(3),
        novelty=col(4),
        top_cat=col(5, np.int64),
        cand_cats=cand_cats,
        cand_p=cand_p,
        label_cat=np.array(
            [r[8] if r[7] == version.pk and r[8] is not None else -1 for r in data], dtype=np.int64
        ),
        accepted=np.array([r[9] == Prediction.Status.AUTO_ACCEPTED for r in data], dtype=bool),
    )


def contradicted_rows(pool: CandidatePool, vtree: ml.VersionTree) -> np.ndarray:
    """Labelled rows the model contradicts (its top leaf is not under the label) with
    ``p > RE_REVIEW_CONFIDENCE``; re-review takes the most confident first."""
    labelled = np.flatnonzero(pool.label_cat >= 0)
    if not len(labelled):
        return np.zeros(0, dtype=np.int64)
    label_nodes = vtree.nodes_of(pool.label_cat[labelled].tolist())
    top_nodes = vtree.nodes_of(pool.top_cat[labelled].tolist())
    agrees = vtree.tree.ancestors[label_nodes, top_nodes]
    sure = pool.confidence[labelled] > RE_REVIEW_CONFIDENCE
    return labelled[~agrees & sure]


def boundary_margins(pool: CandidatePool, vtree: ml.VersionTree) -> tuple[np.ndarray, np.ndarray]:
    """Hierarchical margin and ``(top, runner-up)`` node pair from the stored top-k (the
    array work, and why it is sparse: ``classifier.acquisition.topk``)."""
    tree = vtree.tree
    leaf_col = np.full(int(vtree.category_ids.max()) + 2, -1, dtype=np.int64)
    leaf_col[vtree.category_ids[tree.leaves]] = np.arange(tree.n_leaves)
    threshold = settings.TAXOLOOP.get("DECISION_THRESHOLD", 0.85)
    cols = leaf_columns(pool.cand_cats, leaf_col)
    return topk_hierarchical_margin(tree, cols, pool.cand_p, threshold, block_rows=PROBA_BLOCK)
