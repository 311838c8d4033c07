"""Rescore: apply a model version to every item and store one Prediction per item.

Items are read in id order, ``RESCORE_CHUNK_SIZE`` at a time; each chunk is one forward
pass (``HierarchicalClassifier.predict_topk``) and one bulk upsert in its own transaction.
A crash half-way therefore leaves every item with a whole prediction, of the old model or
of the new one, never a mix, and the next rescore simply overwrites the rest.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from classifier.model import HierarchicalClassifier
from labeling.models import Item, ModelVersion, Prediction
from labeling.services import ml
from labeling.services.errors import ServiceError

TREE_MISMATCH = (
    "Model version #{pk} was trained on a different category tree than taxonomy version "
    "{version} has now ({model_nodes} nodes vs {version_nodes}); train a new model for it."
)
BAD_CHUNK_SIZE = "chunk_size must be a positive integer, got {value!r}."
DEFAULT_CHUNK_SIZE = 5000
# How many leaves a prediction keeps; the queue's boundary reason reads them back.
DEFAULT_TOP_K = 5
# Rows per INSERT … ON CONFLICT statement.
UPSERT_BATCH = 1000
UPDATED_FIELDS = [
    "model_version",
    "top_category",
    "decided_category",
    "previous_top_category",
    "candidates",
    "confidence",
    "margin",
    "entropy",
    "disagreement",
    "novelty",
    "acquisition_score",
    "reason",
    "created_at",
]

Progress = Callable[[int, int], None]


class ScoringError(ServiceError):
    pass


@dataclass(frozen=True)
class _ChunkScores:
    """The model's output for the scorable items of one chunk (row i = item_ids[i])."""

    item_ids: np.ndarray
    top_nodes: np.ndarray  # (n, k) node indices of the top-k leaves
    top_proba: np.ndarray  # (n, k)
    extras: dict[str, np.ndarray]


def rescore(
    model_version: ModelVersion,
    *,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    item_ids: Sequence[int] | None = None,
) -> int:
    """Store the prediction of ``model_version`` for every item that has an embedding
    (or only for ``item_ids``: items that have just been embedded).

    Items without any usable embedding (not encoded yet) are skipped and keep whatever
    prediction they had. ``progress(done, total)`` is called after each chunk.

    Returns the number of predictions written.
    """
    size = _chunk_size(chunk_size)
    model = ml.load_model(model_version)
    vtree = ml.version_tree(model_version.taxonomy_version)
    _check_tree(model, vtree, model_version)
    k = int(settings.TAXOLOOP.get("PREDICTION_TOP_K", DEFAULT_TOP_K))
    total = Item.objects.count() if item_ids is None else len(item_ids)
    written = done = 0
    chunks = _id_chunks(size) if item_ids is None else _given_chunks(item_ids, size)
    delay = _chunk_delay()
    for ids in chunks:
        scores = _score_chunk(model, vtree, ids, k)
        written += _upsert(model_version, vtree, scores)
        done += len(ids)
        if progress is not None:
            progress(done, max(total, done))
        if delay:
            time.sleep(delay)
    return written


def _chunk_delay() -> float:
    """Test hook: seconds to sleep after each chunk (RESCORE_CHUNK_DELAY_SECONDS, or the
    environment variable TAXOLOOP_RESCORE_CHUNK_DELAY), so a test can kill a worker mid-way."""
    conf = settings.TAXOLOOP
    delay = conf.get("RESCORE_CHUNK_DELAY_SECONDS", os.environ.get("TAXOLOOP_RESCORE_CHUNK_DELAY"))
    return float(delay or 0)


def _chunk_size(value: int | None) -> int:
    size = (
        value
        if value is not None
        else settings.TAXOLOOP.get("RESCORE_CHUNK_SIZE", DEFAULT_CHUNK_SIZE)
    )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ScoringError(BAD_CHUNK_SIZE.format(value=size))
    return size


def _check_tree(model: HierarchicalClassifier, vtree: ml.VersionTree, mv: ModelVersion) -> None:
    """Leaf columns are only meaningful against the exact tree the model was trained on."""
    if tuple(model.tree.keys) != tuple(vtree.tree.keys):
        raise ScoringError(
            TREE_MISMATCH.format(
                pk=mv.pk,
                version=mv.taxonomy_version_id,
                model_nodes=model.tree.n_nodes,
                version_nodes=vtree.tree.n_nodes,
            )
        )


def _given_chunks(item_ids: Sequence[int], size: int) -> Iterator[list[int]]:
    ordered = sorted(set(item_ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _id_chunks(size: int) -> Iterator[list[int]]:
    """Item ids in ascending order, ``size`` at a time (keyset pagination, no OFFSET)."""
    last = 0
    while True:
        ids = list(
            Item.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _score_chunk(
    model: HierarchicalClassifier, vtree: ml.VersionTree, ids: Sequence[int], k: int
) -> _ChunkScores:
    features = ml.item_features(ids)
    usable = np.zeros(len(ids), dtype=bool)
    for m in model.modalities_:
        if m in features:
            usable |= np.isfinite(features[m]).all(axis=1)
    rows = {m: a[usable] for m, a in features.items() if m in model.modalities_}
    item_ids = np.asarray(ids, dtype=np.int64)[usable]
    if not len(item_ids):
        return _ChunkScores(item_ids, np.zeros((0, k), np.int64), np.zeros((0, k)), {})
    top_idx, top_proba, extras = model.predict_topk(rows, k=k, chunk_size=len(item_ids))
    top_nodes = vtree.tree.leaves[top_idx]
    return _ChunkScores(item_ids, top_nodes, top_proba, extras)


def _upsert(mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores) -> int:
    """Insert-or-update the chunk's predictions in one transaction (all or none)."""
    if not len(scores.item_ids):
        return 0
    with transaction.atomic():
        _write_chunk(mv, vtree, scores)
    return len(scores.item_ids)


def _write_chunk(mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores) -> None:
    if connection.vendor == "postgresql":
        _copy_upsert(mv, vtree, scores)
    else:
        _bulk_upsert(mv, vtree, scores)


def _bulk_upsert(mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores) -> None:
    """Portable path: read the old tops, then ``bulk_create(update_conflicts=True)``."""
    ids = scores.item_ids.tolist()
    old = {
        item_id: (top, previous)
        for item_id, top, previous in Prediction.objects.filter(item_id__in=ids).values_list(
            "item_id", "top_category_id", "previous_top_category_id"
        )
    }
    rows = [_prediction(mv, vtree, scores, i, old.get(item_id)) for i, item_id in enumerate(ids)]
    Prediction.objects.bulk_create(
        rows,
        batch_size=UPSERT_BATCH,
        update_conflicts=True,
        unique_fields=["item"],
        update_fields=UPDATED_FIELDS,
    )


# COPY into a temporary table, then one INSERT … ON CONFLICT: several times faster than
# batched INSERTs with parameters, and the old top is kept by the UPDATE itself.
_LOAD_COLUMNS = (
    "item_id bigint, model_version_id bigint, top_category_id bigint, "
    "decided_category_id bigint, candidates jsonb, confidence double precision, "
    "margin double precision, entropy double precision, disagreement double precision, "
    "novelty double precision"
)
_COPY_UPSERT = """
INSERT INTO {table} (item_id, model_version_id, top_category_id, decided_category_id,
    previous_top_category_id, candidates, confidence, margin, entropy, disagreement, novelty,
    acquisition_score, reason, created_at)
SELECT item_id, model_version_id, top_category_id, decided_category_id, NULL, candidates,
    confidence, margin, entropy, disagreement, novelty, 0, '', now()
FROM taxoloop_prediction_load
ON CONFLICT (item_id) DO UPDATE SET
    previous_top_category_id = CASE
        WHEN {table}.top_category_id <> EXCLUDED.top_category_id THEN {table}.top_category_id
        ELSE {table}.previous_top_category_id END,
    model_version_id = EXCLUDED.model_version_id,
    top_category_id = EXCLUDED.top_category_id,
    decided_category_id = EXCLUDED.decided_category_id,
    candidates = EXCLUDED.candidates,
    confidence = EXCLUDED.confidence,
    margin = EXCLUDED.margin,
    entropy = EXCLUDED.entropy,
    disagreement = EXCLUDED.disagreement,
    novelty = EXCLUDED.novelty,
    acquisition_score = 0,
    reason = '',
    created_at = EXCLUDED.created_at
"""


def _copy_upsert(mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores) -> None:
    table = connection.ops.quote_name(Prediction._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE taxoloop_prediction_load ({_LOAD_COLUMNS}) ON COMMIT DROP"
        )
        copy_sql = "COPY taxoloop_prediction_load FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in _copy_rows(mv, vtree, scores):
                copy.write_row(row)
        cursor.execute(_COPY_UPSERT.format(table=table))
        # ON COMMIT DROP is not enough when the caller's transaction spans several chunks.
        cursor.execute("DROP TABLE taxoloop_prediction_load")


def _copy_rows(mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores) -> Iterator[tuple]:
    cats = vtree.category_ids
    ex = scores.extras
    top_cats = cats[scores.top_nodes]
    decided = ex["decision"]
    columns = zip(
        scores.item_ids.tolist(),
        top_cats.tolist(),
        np.round(scores.top_proba.astype(np.float64), 6).tolist(),
        np.where(decided >= 0, cats[np.maximum(decided, 0)], -1).tolist(),
        ex["confidence"].tolist(),
        ex["margin"].tolist(),
        ex["entropy"].tolist(),
        ex["consensus_kl"].tolist(),
        ex["novelty"].tolist(),
        strict=True,
    )
    for item_id, tops, ps, dec, conf, margin, entropy, kl, novelty in columns:
        candidates = json.dumps([{"category": c, "p": p} for c, p in zip(tops, ps, strict=True)])
        yield (
            item_id,
            mv.pk,
            tops[0],
            dec if dec >= 0 else None,
            candidates,
            conf,
            margin,
            entropy,
            kl,
            novelty,
        )


def _prediction(
    mv: ModelVersion,
    vtree: ml.VersionTree,
    scores: _ChunkScores,
    i: int,
    old: tuple[int, int | None] | None,
) -> Prediction:
    cats = vtree.category_ids
    top = int(cats[scores.top_nodes[i, 0]])
    decision = int(scores.extras["decision"][i])
    ex = scores.extras
    return Prediction(
        item_id=int(scores.item_ids[i]),
        model_version=mv,
        top_category_id=top,
        decided_category_id=int(cats[decision]) if decision >= 0 else None,
        previous_top_category_id=_previous_top(top, old),
        candidates=[
            {"category": int(cats[node]), "p": round(float(p), 6)}
            for node, p in zip(scores.top_nodes[i], scores.top_proba[i], strict=True)
        ],
        confidence=float(ex["confidence"][i]),
        margin=float(ex["margin"][i]),
        entropy=float(ex["entropy"][i]),
        # Mean KL of each head to the committee: continuous, unlike a 3-member vote entropy.
        disagreement=float(ex["consensus_kl"][i]),
        novelty=float(ex["novelty"][i]),
    )


def _previous_top(top: int, old: tuple[int, int | None] | None) -> int | None:
    """The top before the last change: the old top when it changes, else what it was."""
    if old is None:
        return None
    old_top, old_previous = old
    return old_top if old_top != top else old_previous
