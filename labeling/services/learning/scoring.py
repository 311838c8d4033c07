"""Rescore: apply a model version to every item and store one Prediction per item.

Items are read in id order, ``RESCORE_CHUNK_SIZE`` at a time; each chunk is one forward
pass (``HierarchicalClassifier.predict_topk``) and one bulk upsert in its own transaction.
A crash half-way therefore leaves every item with a whole prediction, of the old model or
of the new one, never a mix, and the next rescore simply overwrites the rest.

A rescore by the active model stops at the next chunk once that model is no longer active
(rolled back, or replaced by a newer promotion): the newer model's own rescore is on its way,
and every chunk written after that would only be overwritten. ``id_range`` scores one
contiguous range of item ids: one shard of a job that several workers share
(``labeling.services.learning.rescore_jobs``).

``previous_top_category`` is the top before the last change. When the stored prediction is of
another taxonomy version (a publish since), its top is first mapped into this model's version
through ``CategoryMapping`` (``categories_mapped_into``, the walk the review card uses),
so a category that was only renamed or moved by the publish does not count as a change.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from classifier.model import HierarchicalClassifier
from labeling.models import Item, ModelVersion, Prediction
from labeling.selectors.category_index import categories_mapped_into
from labeling.services.errors import ServiceError
from labeling.services.learning import ml
from labeling.services.review.disagreement import disagreement_refresh

log = logging.getLogger(__name__)

TREE_MISMATCH = (
    "Model version #{pk} was trained on a different category tree than taxonomy version "
    "{version} has now ({model_nodes} nodes vs {version_nodes}); train a new model for it."
)
BAD_CHUNK_SIZE = "chunk_size must be a positive integer, got {value!r}."
BOTH_SELECTIONS = "Pass item_ids or id_range, not both."
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
# (first item id, stop item id): ids in [first, stop); None for an open end.
IdRange = tuple[int | None, int | None]


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
    id_range: IdRange | None = None,
) -> int:
    """Store the prediction of ``model_version`` for every item that has an embedding
    (or only for ``item_ids``: items that have just been embedded; or only for the items whose
    id is in ``id_range``: one shard of a rescore job).

    Items without any usable embedding (not encoded yet) are skipped and keep whatever
    prediction they had. ``progress(done, total)`` is called after each chunk. When
    ``model_version`` is active, each chunk first checks that it still is, and the rescore
    stops there when it is not (the caller can tell by the model's status).

    Returns the number of predictions written.
    """
    if item_ids is not None and id_range is not None:
        raise ScoringError(BOTH_SELECTIONS)
    size = _chunk_size(chunk_size)
    model = ml.load_model(model_version)
    vtree = ml.version_tree(model_version.taxonomy_version)
    _check_tree(model, vtree, model_version)
    k = int(settings.TAXOLOOP.get("PREDICTION_TOP_K", DEFAULT_TOP_K))
    previous = _PreviousTops(model_version, vtree)
    guarded = model_version.status == ModelVersion.Status.ACTIVE
    total, chunks = _selection(size, item_ids, id_range)
    written = done = 0
    delay = _chunk_delay()
    for ids in chunks:
        if guarded and not _still_active(model_version):
            log.info(
                "model %s is no longer active: rescore stopped after %d items",
                model_version.pk,
                done,
            )
            break
        scores = _score_chunk(model, vtree, ids, k)
        written += _upsert(model_version, vtree, scores, previous)
        done += len(ids)
        if progress is not None:
            progress(done, max(total, done))
        if delay:
            time.sleep(delay)
    return written


def _selection(
    size: int, item_ids: Sequence[int] | None, id_range: IdRange | None
) -> tuple[int, Iterator[list[int]]]:
    """(how many items, their ids ``size`` at a time) for what ``rescore`` was asked to score."""
    if item_ids is not None:
        return len(set(item_ids)), _given_chunks(item_ids, size)
    first, stop = id_range or (None, None)
    return _in_range(first, stop).count(), _id_chunks(size, first, stop)


def _in_range(first: int | None, stop: int | None) -> QuerySet[Item]:
    items = Item.objects.all()
    if first is not None:
        items = items.filter(pk__gte=first)
    if stop is not None:
        items = items.filter(pk__lt=stop)
    return items


def _still_active(mv: ModelVersion) -> bool:
    """One indexed lookup per chunk: cheap next to scoring 5,000 items."""
    return ModelVersion.objects.filter(pk=mv.pk, status=ModelVersion.Status.ACTIVE).exists()


def _chunk_delay() -> float:
    """Test hook: seconds to sleep after each chunk (RESCORE_CHUNK_DELAY_SECONDS, which
    taxoloop/settings/test.py fills from the environment), so a test can kill a worker mid-way."""
    return float(settings.TAXOLOOP.get("RESCORE_CHUNK_DELAY_SECONDS") or 0)


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


def _id_chunks(size: int, first: int | None = None, stop: int | None = None) -> Iterator[list[int]]:
    """Item ids in [first, stop) in ascending order, ``size`` at a time (keyset pagination,
    no OFFSET)."""
    items = _in_range(first, stop).order_by("pk")
    last: int | None = None
    while True:
        page = items if last is None else items.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:size])
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


class _PreviousTops:
    """Each item's ``previous_top_category`` after a chunk, for one rescore.

    Old tops of this model's taxonomy version compare directly; old tops of another version
    are mapped into it first (memoised: a rescore meets the same few hundred old categories
    in every chunk). Both write paths take their values from here, so they cannot disagree.
    """

    def __init__(self, mv: ModelVersion, vtree: ml.VersionTree) -> None:
        self.version = mv.taxonomy_version
        self.own = frozenset(vtree.category_ids.tolist())
        self.mapped: dict[int, int | None] = {}

    def of(self, item_ids: list[int], tops: list[int]) -> list[int | None]:
        """``previous_top_category_id`` of each item once its top is ``tops[i]``."""
        rows = _stored_for(item_ids).values_list(
            "item_id", "top_category_id", "previous_top_category_id"
        )
        old = {item_id: (top, previous) for item_id, top, previous in rows}
        self._map({top for top, _ in old.values()} - self.own - self.mapped.keys())
        return [self._previous(top, old.get(i)) for i, top in zip(item_ids, tops, strict=True)]

    def _map(self, foreign: set[int]) -> None:
        if foreign:
            found = categories_mapped_into(version=self.version, old_ids=foreign)
            self.mapped.update({pk: found.get(pk) for pk in foreign})

    def _previous(self, top: int, old: tuple[int, int | None] | None) -> int | None:
        """The old top when it changes, else what it was. An old top of another version is
        compared as the category it maps to: the same → no change (and the previous top of
        that older version is dropped), another → that one, none (unmapped) → NULL."""
        if old is None:
            return None
        old_top, old_previous = old
        if old_top in self.own:
            return old_top if old_top != top else old_previous
        mapped = self.mapped.get(old_top)
        return None if mapped == top else mapped


def _stored_for(item_ids: list[int]) -> QuerySet[Prediction]:
    """The stored predictions of (at least) ``item_ids``, ascending. A chunk of nearly
    consecutive ids is read as one id range: on PostgreSQL a 5,000-value IN list costs about
    20 times the range scan (measured 64 vs 3 ms); extra rows in the range do no harm."""
    first, last = min(item_ids), max(item_ids)
    if last - first < 2 * len(item_ids):
        return Prediction.objects.filter(item_id__gte=first, item_id__lte=last)
    return Prediction.objects.filter(item_id__in=item_ids)


def _upsert(
    mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores, previous: _PreviousTops
) -> int:
    """Insert-or-update the chunk's predictions in one transaction (all or none)."""
    if not len(scores.item_ids):
        return 0
    with transaction.atomic():
        ids = scores.item_ids.tolist()
        tops = vtree.category_ids[scores.top_nodes[:, 0]].tolist()
        _write_chunk(mv, vtree, scores, previous.of(ids, tops))
        disagreement_refresh(item_ids=ids)
    return len(scores.item_ids)


def _write_chunk(
    mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores, previous: list[int | None]
) -> None:
    if connection.vendor == "postgresql":
        _copy_upsert(mv, vtree, scores, previous)
    else:
        _bulk_upsert(mv, vtree, scores, previous)


def _bulk_upsert(
    mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores, previous: list[int | None]
) -> None:
    """Portable path: ``bulk_create(update_conflicts=True)``."""
    rows = [_prediction(mv, vtree, scores, i, prev) for i, prev in enumerate(previous)]
    Prediction.objects.bulk_create(
        rows,
        batch_size=UPSERT_BATCH,
        update_conflicts=True,
        unique_fields=["item"],
        update_fields=UPDATED_FIELDS,
    )


# COPY into a temporary table, then one INSERT … ON CONFLICT: several times faster than
# batched INSERTs with parameters.
_LOAD_COLUMNS = (
    "item_id bigint, model_version_id bigint, top_category_id bigint, "
    "decided_category_id bigint, previous_top_category_id bigint, candidates jsonb, "
    "confidence double precision, margin double precision, entropy double precision, "
    "disagreement double precision, novelty double precision"
)
_COPY_UPSERT = """
INSERT INTO {table} (item_id, model_version_id, top_category_id, decided_category_id,
    previous_top_category_id, candidates, confidence, margin, entropy, disagreement, novelty,
    acquisition_score, reason, label_disagrees, created_at)
SELECT item_id, model_version_id, top_category_id, decided_category_id,
    previous_top_category_id, candidates, confidence, margin, entropy, disagreement, novelty,
    0, '', FALSE, now()
FROM taxoloop_prediction_load
ON CONFLICT (item_id) DO UPDATE SET
    previous_top_category_id = EXCLUDED.previous_top_category_id,
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


def _copy_upsert(
    mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores, previous: list[int | None]
) -> None:
    table = connection.ops.quote_name(Prediction._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE taxoloop_prediction_load ({_LOAD_COLUMNS}) ON COMMIT DROP"
        )
        copy_sql = "COPY taxoloop_prediction_load FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in _copy_rows(mv, vtree, scores, previous):
                copy.write_row(row)
        cursor.execute(_COPY_UPSERT.format(table=table))
        # ON COMMIT DROP is not enough when the caller's transaction spans several chunks.
        cursor.execute("DROP TABLE taxoloop_prediction_load")


def _copy_rows(
    mv: ModelVersion, vtree: ml.VersionTree, scores: _ChunkScores, previous: list[int | None]
) -> Iterator[tuple]:
    cats = vtree.category_ids
    ex = scores.extras
    top_cats = cats[scores.top_nodes]
    decided = ex["decision"]
    columns = zip(
        scores.item_ids.tolist(),
        top_cats.tolist(),
        np.round(scores.top_proba.astype(np.float64), 6).tolist(),
        np.where(decided >= 0, cats[np.maximum(decided, 0)], -1).tolist(),
        previous,
        ex["confidence"].tolist(),
        ex["margin"].tolist(),
        ex["entropy"].tolist(),
        ex["consensus_kl"].tolist(),
        ex["novelty"].tolist(),
        strict=True,
    )
    for item_id, tops, ps, dec, prev, conf, margin, entropy, kl, novelty in columns:
        candidates = json.dumps([{"category": c, "p": p} for c, p in zip(tops, ps, strict=True)])
        yield (
            item_id,
            mv.pk,
            tops[0],
            dec if dec >= 0 else None,
            prev,
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
    previous: int | None,
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
        previous_top_category_id=previous,
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
